/// Turns change-log entries into events: a rotation is logged as the old token going
/// (`rotated_out`) then the new one arriving (`rotated`, or `updated` when a trigger logged an
/// outside change), and becomes one ``SessionEvent/Kind/rotated`` event carrying both hashes.
struct SessionEventAssembler {
    /// A `rotated_out` whose partner has not been read yet.
    private var rotatedOut: SessionChange?

    mutating func events(from changes: [SessionChange]) -> [SessionEvent] {
        var events: [SessionEvent] = []
        events.reserveCapacity(changes.count)
        for change in changes {
            if let previous = rotatedOut {
                rotatedOut = nil
                if (change.kind == .rotated || change.kind == .updated) && change.sessionID == previous.sessionID {
                    events.append(Self.event(.rotated, change, previous: previous.tokenHash))
                    continue
                }
                // The partner never came (it cannot, unless the log was edited): report the old
                // token as gone.
                events.append(Self.event(.deleted, previous))
            }
            switch change.kind {
            case .rotatedOut: rotatedOut = change
            case .created: events.append(Self.event(.created, change))
            case .updated: events.append(Self.event(.updated, change))
            case .touched: events.append(Self.event(.touched, change))
            case .rotated: events.append(Self.event(.rotated, change))
            case .deleted: events.append(Self.event(.deleted, change))
            case .revoked: events.append(Self.event(.revoked, change))
            case .expired: events.append(Self.event(.expired, change))
            case .evicted: events.append(Self.event(.evicted, change))
            case .appended: events.append(Self.event(.appended, change))
            // Each session it removed here has a `revoked` change of its own.
            case .userRevoked: break
            }
        }
        return events
    }

    private static func event(_ kind: SessionEvent.Kind, _ change: SessionChange, previous: TokenHash? = nil) -> SessionEvent {
        SessionEvent(
            kind: kind,
            sessionID: change.sessionID,
            tokenHash: change.tokenHash,
            previousTokenHash: previous,
            userID: change.userID,
            at: change.at,
            sequence: change.sequence,
            origin: change.origin,
            messageID: change.messageID
        )
    }
}

/// The change log of ``InMemorySessionStore``: the most recent changes in a ring of fixed size.
struct InMemoryChangeLog {
    private let capacity: Int
    private var ring: [SessionChange] = []
    /// Index in `ring` of the oldest change kept, once the ring is full.
    private var oldestIndex = 0
    /// The sequence number of the newest change; sequence numbers are consecutive from 1.
    private(set) var lastSequence: Int64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    mutating func append(
        _ kind: SessionChange.Kind,
        _ session: Session,
        tokenHash: TokenHash? = nil,
        at now: SessionInstant,
        origin: Int64,
        messageID: Int64? = nil
    ) {
        lastSequence += 1
        let change = SessionChange(
            sequence: lastSequence,
            sessionID: session.id,
            tokenHash: tokenHash ?? session.tokenHash,
            userID: session.userID,
            kind: kind,
            at: now,
            origin: origin,
            messageID: messageID
        )
        if ring.count < capacity {
            ring.append(change)
        } else {
            ring[oldestIndex] = change
            oldestIndex = (oldestIndex + 1) % capacity
        }
    }

    /// Changes after `sequence`, oldest first, and whether some were already overwritten.
    func changes(after sequence: Int64, limit: Int) -> SessionChangeBatch {
        let oldestKept = lastSequence - Int64(ring.count) + 1
        let first = max(sequence + 1, oldestKept)
        guard first <= lastSequence else {
            return SessionChangeBatch(changes: [], missedChanges: sequence + 1 < oldestKept)
        }
        let wanted = min(Int(lastSequence - first + 1), limit)
        let offset = Int(first - oldestKept)
        let changes = (0..<wanted).map { ring[(oldestIndex + offset + $0) % ring.count] }
        return SessionChangeBatch(changes: changes, missedChanges: sequence + 1 < oldestKept)
    }
}

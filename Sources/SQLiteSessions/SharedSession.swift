package import Sessions

/// A session as hosts that share sessions exchange it: its data in stored form (sealed when
/// encryption at rest is on) and the clock readings that order its versions.
package struct SharedSession: Sendable, Hashable {
    /// The session; its data as stored.
    package var session: Session
    /// The ``HybridClock`` reading of the write that made these contents.
    package var clock: Int64
    /// The reading of the contents that write started from (0 for a new session).
    package var baseClock: Int64

    package init(session: Session, clock: Int64, baseClock: Int64) {
        self.session = session
        self.clock = clock
        self.baseClock = baseClock
    }

    /// Whether this copy replaces `other`, a copy of the same session, on every host and in
    /// Redis: the later contents (higher clock) win; between copies of the same contents, the
    /// later use. The Redis scripts apply the same rule (`RedisSyncScripts`).
    package func supersedes(_ other: SharedSession) -> Bool {
        if clock != other.clock { return clock > other.clock }
        return session.lastSeenAt > other.session.lastSeenAt
    }

    /// Whether `local`, which this copy supersedes, held a write of host `hostTag` that this
    /// copy's writer had not seen: a change that is now lost (counted, not prevented, while
    /// hosts cannot reach each other).
    package func overwrites(localChangeOf hostTag: Int64, in local: SharedSession) -> Bool {
        local.clock != clock && HybridClock.hostTag(of: local.clock) == hostTag && local.clock > baseClock
    }
}

/// One change a host applies to its file on behalf of another host (or of Redis).
package enum SharedChange: Sendable {
    /// A session's new state; `replacing` is the token it was rotated from.
    case put(SharedSession, replacing: TokenHash?)
    /// A token that must never work again (deleted, revoked, rotated out, evicted), until `until`.
    case remove(TokenHash, sessionID: Int64?, kind: SessionChange.Kind, until: SessionInstant)
    /// "Log out everywhere": the user's sessions created before the clock reading `before`
    /// end, on every host.
    case revokeUser(String, before: Int64, until: SessionInstant)
    /// A message appended to a session's log.
    case message(TokenHash, sessionID: Int64?, StoredMessage)
}

/// What applying a ``SharedChange`` did.
package enum SharedOutcome: Sendable, Hashable {
    /// The file changed.
    case applied
    /// The file already held it, or it concerns a session the file does not hold.
    case unchanged
    /// The file holds a later state of the session.
    case superseded
    /// Refused: the token was deleted here, or its user logged out everywhere after it was created.
    case refused
    /// Applied over a write of this host that the writer of the copy had not seen; that write is lost.
    case overwroteLocalChange
}

/// How far a host has applied the shared change stream: the last entry's id and sequence number.
package struct StreamPosition: Sendable, Hashable, CustomStringConvertible {
    /// The Redis stream entry id, `<milliseconds>-<n>`.
    package var id: String
    /// The number the sync scripts gave the entry; consecutive, so a gap shows.
    package var sequence: Int64

    package init(id: String, sequence: Int64) {
        self.id = id
        self.sequence = sequence
    }

    package var description: String { "\(id) (#\(sequence))" }
}

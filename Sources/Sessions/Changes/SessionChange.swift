/// One entry of a store's change log: something happened to the session behind ``tokenHash``.
///
/// The SQLite store writes these to `session_changes` in the same transaction as the change itself.
/// Cache coherence, Redis replication and the event stream all read them.
public struct SessionChange: Sendable, Hashable {
    /// What happened. The raw values are the `kind` column of `session_changes`.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A session was created.
        case created
        /// Data, user, metadata or expiry changed.
        case updated
        /// A use was persisted (sliding expiry).
        case touched
        /// The session got a new token; ``SessionChange/tokenHash`` is the new token's hash.
        case rotated
        /// The token in ``SessionChange/tokenHash`` was replaced by rotation and no longer works.
        case rotatedOut = "rotated_out"
        /// The session was deleted by its token.
        case deleted
        /// The session was deleted with all of its user's sessions.
        case revoked
        /// A purge removed the session after it expired.
        case expired
        /// The session was removed to make room: the per-user session limit, or a full store.
        case evicted
        /// A message was appended to the session's log; ``SessionChange/messageID`` names it.
        case appended
        /// Every session of ``SessionChange/userID`` created before ``SessionChange/at`` was
        /// revoked ("log out everywhere"), including sessions on other hosts this store has not
        /// seen yet. ``SessionChange/tokenHash`` is ``TokenHash/none``; each session deleted here
        /// has a ``revoked`` change of its own.
        case userRevoked = "user_revoked"
    }

    /// Position in the log; strictly increasing.
    public var sequence: Int64
    /// The session's stable id, when known.
    public var sessionID: Int64?
    /// The token hash the change concerns.
    public var tokenHash: TokenHash
    /// The session's user at the time.
    public var userID: String?
    /// What happened.
    public var kind: Kind
    /// When it happened.
    public var at: SessionInstant
    /// The store instance that made the change; nil when it was made outside the library (a
    /// trigger logged a raw `sqlite3` statement).
    public var origin: Int64?
    /// For ``Kind/appended``: the message's id.
    public var messageID: Int64?

    /// Creates a change-log entry; each parameter sets the property of the same name.
    public init(
        sequence: Int64,
        sessionID: Int64?,
        tokenHash: TokenHash,
        userID: String?,
        kind: Kind,
        at: SessionInstant,
        origin: Int64?,
        messageID: Int64? = nil
    ) {
        self.sequence = sequence
        self.sessionID = sessionID
        self.tokenHash = tokenHash
        self.userID = userID
        self.kind = kind
        self.at = at
        self.origin = origin
        self.messageID = messageID
    }

    /// Whether the session behind ``tokenHash`` is gone after this change.
    public var removesToken: Bool {
        switch kind {
        case .rotatedOut, .deleted, .revoked, .expired, .evicted: true
        case .created, .updated, .touched, .rotated, .appended, .userRevoked: false
        }
    }
}

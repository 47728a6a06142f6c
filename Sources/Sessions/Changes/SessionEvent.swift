/// Something that happened to a session, as an event stream reports it
/// (``SessionChangeFeed/events(bufferSize:pollInterval:logger:)``).
public struct SessionEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A session was created.
        case created
        /// Its data, user, metadata or expiry changed.
        case updated
        /// A use was persisted (sliding expiry). Uses that are not persisted (within
        /// ``SessionPolicy/touchInterval`` of the last one) make no event.
        case touched
        /// It got a new token; ``SessionEvent/previousTokenHash`` no longer works.
        case rotated
        /// It was deleted by its token.
        case deleted
        /// It was deleted with all of its user's sessions.
        case revoked
        /// A purge removed it after it expired.
        case expired
        /// A new session pushed it out: one of the same user's (``SessionPolicy/maxSessionsPerUser``),
        /// or any, in a store that was full (``InMemorySessionStore/maxSessions``).
        case evicted
        /// A message was appended to its log; ``SessionEvent/messageID`` names it.
        case appended
    }

    /// What happened.
    public var kind: Kind
    /// The session's stable id, when known.
    public var sessionID: Int64?
    /// The session's token hash (after rotation: the new one).
    public var tokenHash: TokenHash
    /// For ``Kind/rotated``: the hash of the token that stopped working.
    public var previousTokenHash: TokenHash?
    /// The session's user at the time.
    public var userID: String?
    /// When it happened.
    public var at: SessionInstant
    /// The position in the store's change log.
    public var sequence: Int64
    /// The store instance that made the change (``SessionChangeFeed/changeOrigin``); nil when it
    /// was made outside the library, with the `sqlite3` shell for instance.
    public var origin: Int64?
    /// How many events the stream dropped just before this one because its consumer fell
    /// behind (the buffer was full). 0 normally.
    public var droppedBefore: Int
    /// For ``Kind/appended``: the message's id.
    public var messageID: Int64?

    /// Creates an event; each parameter sets the property of the same name.
    public init(
        kind: Kind,
        sessionID: Int64?,
        tokenHash: TokenHash,
        previousTokenHash: TokenHash? = nil,
        userID: String?,
        at: SessionInstant,
        sequence: Int64,
        origin: Int64?,
        droppedBefore: Int = 0,
        messageID: Int64? = nil
    ) {
        self.kind = kind
        self.sessionID = sessionID
        self.tokenHash = tokenHash
        self.previousTokenHash = previousTokenHash
        self.userID = userID
        self.at = at
        self.sequence = sequence
        self.origin = origin
        self.droppedBefore = droppedBefore
        self.messageID = messageID
    }
}

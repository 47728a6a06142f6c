public import Foundation

/// What to store in a new session; the argument of ``SessionStore/create(_:)``.
public struct SessionDraft: Sendable, Hashable {
    /// The owner, or nil for an anonymous session.
    public var userID: String?
    /// Initial session data.
    public var data: Data
    /// Free-form string attributes.
    public var metadata: [String: String]
    /// Expiry for this session only; nil uses the store's ``SessionPolicy/expiration``.
    public var expiration: ExpirationPolicy?
    /// Client address, recorded as both the creating and the last-seen address.
    public var ip: String?
    /// Client user agent, recorded as both the creating and the last-seen agent.
    public var userAgent: String?

    public init(
        userID: String? = nil,
        data: Data = Data(),
        metadata: [String: String] = [:],
        expiration: ExpirationPolicy? = nil,
        ip: String? = nil,
        userAgent: String? = nil
    ) {
        self.userID = userID
        self.data = data
        self.metadata = metadata
        self.expiration = expiration
        self.ip = ip
        self.userAgent = userAgent
    }
}

/// A token together with the session it opens: what ``SessionStore/create(_:)`` and
/// ``SessionStore/rotate(_:)`` return. Hand ``token`` to the client; it is not stored anywhere.
public struct IssuedSession: Sendable {
    /// The new secret token.
    public let token: SessionToken
    /// The stored session.
    public let session: Session
    /// Sessions removed to make room for this one: the same user's, to respect
    /// ``SessionPolicy/maxSessionsPerUser``, and, in a store with a size limit
    /// (``InMemorySessionStore/maxSessions``), the least recently used.
    public let evicted: [TokenHash]

    public init(token: SessionToken, session: Session, evicted: [TokenHash] = []) {
        self.token = token
        self.session = session
        self.evicted = evicted
    }
}

/// The client a request came from, recorded as a session's last-seen address and agent when a
/// use is persisted.
public struct SessionClient: Sendable, Hashable {
    /// The client's address.
    public var ip: String?
    /// The client's `User-Agent` header.
    public var userAgent: String?

    public init(ip: String? = nil, userAgent: String? = nil) {
        self.ip = ip
        self.userAgent = userAgent
    }
}

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

    /// Creates an issued session; each parameter sets the property of the same name.
    public init(token: SessionToken, session: Session, evicted: [TokenHash] = []) {
        self.token = token
        self.session = session
        self.evicted = evicted
    }
}

public import Foundation

/// One stored session: what a store returns from ``SessionStore/load(_:)``.
///
/// The token itself is not part of the record; ``tokenHash`` identifies it. ``id`` is the store's
/// stable internal identifier, which survives ``SessionStore/rotate(_:)``.
///
/// Change ``userID``, ``data`` or ``metadata`` and pass the value to ``SessionStore/save(_:expectedVersion:)``;
/// the other properties are maintained by the store.
public struct Session: Sendable, Hashable {
    /// Stable identifier inside the store; unchanged by token rotation.
    public let id: Int64
    /// SHA-256 of the session's current token.
    public let tokenHash: TokenHash
    /// The user the session belongs to; nil for an anonymous session.
    public var userID: String?
    /// The application's session data, as bytes (JSON by convention; see ``decode(_:decoder:)``).
    public var data: Data
    /// Free-form string attributes (login method, tenant, device name...).
    public var metadata: [String: String]
    /// When the session was created.
    public let createdAt: SessionInstant
    /// When data, user or metadata last changed.
    public let updatedAt: SessionInstant
    /// The last use the store knows of; drives the idle timeout.
    public let lastSeenAt: SessionInstant
    /// The session's limits: sliding timeout and fixed deadline.
    public let deadlines: SessionDeadlines
    /// Incremented by every save, rotation and expiry change; the basis of compare-and-swap.
    public let version: Int64
    /// Client address when the session was created.
    public let ip: String?
    /// Client user agent when the session was created.
    public let userAgent: String?
    /// Client address at the last persisted use.
    public let lastSeenIP: String?
    /// Client user agent at the last persisted use.
    public let lastSeenUserAgent: String?

    /// Creates a record. Stores use this; applications receive sessions from stores.
    public init(
        id: Int64,
        tokenHash: TokenHash,
        userID: String?,
        data: Data,
        metadata: [String: String] = [:],
        createdAt: SessionInstant,
        updatedAt: SessionInstant,
        lastSeenAt: SessionInstant,
        deadlines: SessionDeadlines,
        version: Int64,
        ip: String? = nil,
        userAgent: String? = nil,
        lastSeenIP: String? = nil,
        lastSeenUserAgent: String? = nil
    ) {
        self.id = id
        self.tokenHash = tokenHash
        self.userID = userID
        self.data = data
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastSeenAt = lastSeenAt
        self.deadlines = deadlines
        self.version = version
        self.ip = ip
        self.userAgent = userAgent
        self.lastSeenIP = lastSeenIP
        self.lastSeenUserAgent = lastSeenUserAgent
    }

    /// The effective deadline: `min(lastSeenAt + idleTimeout, absoluteExpiresAt)`.
    @inlinable
    public var expiresAt: SessionInstant { deadlines.expiresAt(lastSeenAt: lastSeenAt) }

    /// Whether the session has expired at `now`. A session expires exactly at its deadline.
    @inlinable
    public func isExpired(at now: SessionInstant) -> Bool { now >= expiresAt }

    /// Time left before the deadline at `now`; zero or negative once expired.
    public func timeToLive(at now: SessionInstant) -> Duration { expiresAt - now }
}

extension Session {
    /// A copy with the store-maintained fields replaced; for store implementations.
    public func with(
        tokenHash: TokenHash? = nil,
        updatedAt: SessionInstant? = nil,
        lastSeenAt: SessionInstant? = nil,
        deadlines: SessionDeadlines? = nil,
        version: Int64? = nil,
        lastSeenIP: String?? = nil,
        lastSeenUserAgent: String?? = nil
    ) -> Session {
        Session(
            id: id,
            tokenHash: tokenHash ?? self.tokenHash,
            userID: userID,
            data: data,
            metadata: metadata,
            createdAt: createdAt,
            updatedAt: updatedAt ?? self.updatedAt,
            lastSeenAt: lastSeenAt ?? self.lastSeenAt,
            deadlines: deadlines ?? self.deadlines,
            version: version ?? self.version,
            ip: ip,
            userAgent: userAgent,
            lastSeenIP: lastSeenIP ?? self.lastSeenIP,
            lastSeenUserAgent: lastSeenUserAgent ?? self.lastSeenUserAgent
        )
    }
}

public import Foundation

/// One stored session: what a store returns from ``SessionStore/load(_:)``.
///
/// The token itself is not part of the record; ``tokenHash`` identifies it. ``id`` is the store's
/// stable internal identifier, which survives ``SessionStore/rotate(_:)``.
///
/// Change ``userID``, ``data`` or ``metadata`` and pass the value to ``SessionStore/save(_:expectedVersion:)``;
/// the other properties are maintained by the store.
///
/// A `Session` is a value. Its fields live in one immutable, shared object, so copying a session
/// (which a cache hit does) costs one reference count, not one per string; changing a field
/// gives this value its own copy of the fields.
public struct Session: Sendable, Hashable {
    /// The fields that change rarely, shared between copies of the value.
    private final class Fields: Sendable {
        let id: Int64
        let tokenHash: TokenHash
        let userID: String?
        let data: Data
        let metadata: [String: String]
        let createdAt: SessionInstant
        let updatedAt: SessionInstant
        let deadlines: SessionDeadlines
        let version: Int64
        let ip: String?
        let userAgent: String?
        let lastSeenIP: String?
        let lastSeenUserAgent: String?

        init(
            id: Int64,
            tokenHash: TokenHash,
            userID: String?,
            data: Data,
            metadata: [String: String],
            createdAt: SessionInstant,
            updatedAt: SessionInstant,
            deadlines: SessionDeadlines,
            version: Int64,
            ip: String?,
            userAgent: String?,
            lastSeenIP: String?,
            lastSeenUserAgent: String?
        ) {
            self.id = id
            self.tokenHash = tokenHash
            self.userID = userID
            self.data = data
            self.metadata = metadata
            self.createdAt = createdAt
            self.updatedAt = updatedAt
            self.deadlines = deadlines
            self.version = version
            self.ip = ip
            self.userAgent = userAgent
            self.lastSeenIP = lastSeenIP
            self.lastSeenUserAgent = lastSeenUserAgent
        }

        func copy(
            tokenHash: TokenHash? = nil,
            userID: String?? = nil,
            data: Data? = nil,
            metadata: [String: String]? = nil,
            updatedAt: SessionInstant? = nil,
            deadlines: SessionDeadlines? = nil,
            version: Int64? = nil,
            lastSeenIP: String?? = nil,
            lastSeenUserAgent: String?? = nil
        ) -> Fields {
            Fields(
                id: id,
                tokenHash: tokenHash ?? self.tokenHash,
                userID: userID ?? self.userID,
                data: data ?? self.data,
                metadata: metadata ?? self.metadata,
                createdAt: createdAt,
                updatedAt: updatedAt ?? self.updatedAt,
                deadlines: deadlines ?? self.deadlines,
                version: version ?? self.version,
                ip: ip,
                userAgent: userAgent,
                lastSeenIP: lastSeenIP ?? self.lastSeenIP,
                lastSeenUserAgent: lastSeenUserAgent ?? self.lastSeenUserAgent
            )
        }
    }

    private var fields: Fields

    /// The last use the store knows of; drives the idle timeout.
    public let lastSeenAt: SessionInstant

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
        self.fields = Fields(
            id: id,
            tokenHash: tokenHash,
            userID: userID,
            data: data,
            metadata: metadata,
            createdAt: createdAt,
            updatedAt: updatedAt,
            deadlines: deadlines,
            version: version,
            ip: ip,
            userAgent: userAgent,
            lastSeenIP: lastSeenIP,
            lastSeenUserAgent: lastSeenUserAgent
        )
        self.lastSeenAt = lastSeenAt
    }

    private init(fields: Fields, lastSeenAt: SessionInstant) {
        self.fields = fields
        self.lastSeenAt = lastSeenAt
    }

    /// Stable identifier inside the store; unchanged by token rotation.
    public var id: Int64 { fields.id }
    /// SHA-256 of the session's current token.
    public var tokenHash: TokenHash { fields.tokenHash }
    /// When the session was created.
    public var createdAt: SessionInstant { fields.createdAt }
    /// When data, user or metadata last changed.
    public var updatedAt: SessionInstant { fields.updatedAt }
    /// The session's limits: sliding timeout and fixed deadline.
    public var deadlines: SessionDeadlines { fields.deadlines }
    /// Incremented by every save, rotation and expiry change; the basis of compare-and-swap.
    public var version: Int64 { fields.version }
    /// Client address when the session was created.
    public var ip: String? { fields.ip }
    /// Client user agent when the session was created.
    public var userAgent: String? { fields.userAgent }
    /// Client address at the last persisted use.
    public var lastSeenIP: String? { fields.lastSeenIP }
    /// Client user agent at the last persisted use.
    public var lastSeenUserAgent: String? { fields.lastSeenUserAgent }

    /// The user the session belongs to; nil for an anonymous session.
    public var userID: String? {
        get { fields.userID }
        set { fields = fields.copy(userID: .some(newValue)) }
    }

    /// The application's session data, as bytes (JSON by convention; see ``decode(_:decoder:)``).
    public var data: Data {
        get { fields.data }
        set { fields = fields.copy(data: newValue) }
    }

    /// Free-form string attributes (login method, tenant, device name...).
    public var metadata: [String: String] {
        get { fields.metadata }
        set { fields = fields.copy(metadata: newValue) }
    }

    /// The effective deadline: `min(lastSeenAt + idleTimeout, absoluteExpiresAt)`.
    public var expiresAt: SessionInstant { fields.deadlines.expiresAt(lastSeenAt: lastSeenAt) }

    /// Whether the session has expired at `now`. A session expires exactly at its deadline.
    public func isExpired(at now: SessionInstant) -> Bool { now >= expiresAt }

    /// Time left before the deadline at `now`; zero or negative once expired.
    public func timeToLive(at now: SessionInstant) -> Duration { expiresAt - now }

    /// A copy with the store-maintained fields replaced; for store implementations.
    ///
    /// Changing only `lastSeenAt` shares the other fields with this value and allocates nothing.
    public func with(
        tokenHash: TokenHash? = nil,
        updatedAt: SessionInstant? = nil,
        lastSeenAt: SessionInstant? = nil,
        deadlines: SessionDeadlines? = nil,
        version: Int64? = nil,
        lastSeenIP: String?? = nil,
        lastSeenUserAgent: String?? = nil
    ) -> Session {
        let unchanged = tokenHash == nil && updatedAt == nil && deadlines == nil && version == nil
            && lastSeenIP == nil && lastSeenUserAgent == nil
        return Session(
            fields: unchanged
                ? fields
                : fields.copy(
                    tokenHash: tokenHash,
                    updatedAt: updatedAt,
                    deadlines: deadlines,
                    version: version,
                    lastSeenIP: lastSeenIP,
                    lastSeenUserAgent: lastSeenUserAgent
                ),
            lastSeenAt: lastSeenAt ?? self.lastSeenAt
        )
    }

    public static func == (lhs: Session, rhs: Session) -> Bool {
        guard lhs.lastSeenAt == rhs.lastSeenAt else { return false }
        if lhs.fields === rhs.fields { return true }
        let (l, r) = (lhs.fields, rhs.fields)
        return l.id == r.id && l.tokenHash == r.tokenHash && l.userID == r.userID && l.data == r.data
            && l.metadata == r.metadata && l.createdAt == r.createdAt && l.updatedAt == r.updatedAt
            && l.deadlines == r.deadlines && l.version == r.version && l.ip == r.ip && l.userAgent == r.userAgent
            && l.lastSeenIP == r.lastSeenIP && l.lastSeenUserAgent == r.lastSeenUserAgent
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields.id)
        hasher.combine(fields.tokenHash)
        hasher.combine(fields.version)
        hasher.combine(lastSeenAt)
    }
}

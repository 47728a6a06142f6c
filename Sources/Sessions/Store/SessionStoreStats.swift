/// Figures about a store, from ``SessionStoreAdministration/stats()``.
public struct SessionStoreStats: Sendable, Hashable {
    /// Every stored session, expired or not.
    public var total: Int
    /// Sessions that have not expired.
    public var active: Int
    /// Sessions that have expired but are not purged yet.
    public var expired: Int
    /// Distinct users with at least one active session.
    public var users: Int
    /// Mean age of the active sessions; nil when there are none.
    public var averageAge: Duration?
    /// Write-path figures, for stores that batch writes.
    public var writes: WriteStats?
    /// Cache figures, for ``CachedSessionStore``.
    public var cache: CacheStats?

    /// Creates store figures; each parameter sets the property of the same name.
    public init(
        total: Int,
        active: Int,
        expired: Int,
        users: Int,
        averageAge: Duration?,
        writes: WriteStats? = nil,
        cache: CacheStats? = nil
    ) {
        self.total = total
        self.active = active
        self.expired = expired
        self.users = users
        self.averageAge = averageAge
        self.writes = writes
        self.cache = cache
    }
}

/// How a store's writes reached storage since it was opened.
public struct WriteStats: Sendable, Hashable {
    /// Write operations performed (creates, saves, deletes, touches, purge chunks...).
    public var operations: Int
    /// Transactions committed. Group commit makes this smaller than ``operations`` under load.
    public var transactions: Int
    /// The most operations one transaction carried.
    public var largestBatch: Int
    /// Uses that were persisted as touches (sliding expiry).
    public var touchesPersisted: Int
    /// Uses that did not need a write because the persisted `last_seen_at` was recent enough.
    public var touchesSkipped: Int
    /// Touches that failed to persist (logged; the session stays alive until the previous deadline).
    public var touchesFailed: Int

    /// Creates write figures; each parameter sets the property of the same name.
    public init(
        operations: Int = 0,
        transactions: Int = 0,
        largestBatch: Int = 0,
        touchesPersisted: Int = 0,
        touchesSkipped: Int = 0,
        touchesFailed: Int = 0
    ) {
        self.operations = operations
        self.transactions = transactions
        self.largestBatch = largestBatch
        self.touchesPersisted = touchesPersisted
        self.touchesSkipped = touchesSkipped
        self.touchesFailed = touchesFailed
    }
}

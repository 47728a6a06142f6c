/// What a ``CachedSessionStore`` did since it was created.
public struct CacheStats: Sendable, Hashable {
    /// Loads answered from memory.
    public var hits = 0
    /// Loads that read through to the backing store.
    public var misses = 0
    /// Loads answered "no such session" from memory: tombstones of deleted tokens and recent
    /// lookups of unknown ones.
    public var negativeHits = 0
    /// Entries dropped to respect the entry or byte limit.
    public var evictions = 0
    /// Entries dropped because the session changed or went away, here or in another process.
    public var invalidations = 0
    /// Read-through results not cached because the session changed while they were being read.
    public var fillsRejected = 0
    /// Times the whole cache was cleared because the change log could not be followed.
    public var flushes = 0
    /// Change-log polls that found something to apply.
    public var coherenceUpdates = 0
    /// Uses of sliding sessions that did not need a write.
    public var touchesSkipped = 0
    /// Uses written back to the backing store.
    public var touchesPersisted = 0
    /// Uses that could not be written back (logged; the session stays valid until its old deadline).
    public var touchesFailed = 0
    /// Sessions held now.
    public var entries = 0
    /// Bytes of session data, metadata and client strings held now.
    public var bytes = 0

    /// Creates statistics with every count at zero.
    public init() {}

    static func + (lhs: CacheStats, rhs: CacheStats) -> CacheStats {
        var sum = lhs
        sum.hits += rhs.hits
        sum.misses += rhs.misses
        sum.negativeHits += rhs.negativeHits
        sum.evictions += rhs.evictions
        sum.invalidations += rhs.invalidations
        sum.fillsRejected += rhs.fillsRejected
        sum.flushes += rhs.flushes
        sum.coherenceUpdates += rhs.coherenceUpdates
        sum.touchesSkipped += rhs.touchesSkipped
        sum.touchesPersisted += rhs.touchesPersisted
        sum.touchesFailed += rhs.touchesFailed
        sum.entries += rhs.entries
        sum.bytes += rhs.bytes
        return sum
    }
}

import Logging
import Synchronization

/// The periodic work of ``CachedSessionStore``: following other processes' changes, and
/// publishing metrics.
///
/// There is no background task: the load that finds the last round older than the coherence
/// interval does the next one, inline. Nothing runs while nothing is asked, and the staleness
/// bound holds however busy the machine is. A round is one `PRAGMA data_version` for SQLite while
/// nothing changed; when something did, the new change-log entries are read and every session
/// they name is dropped from memory. One caller does a round at a time; the others go on.
final class CacheHousekeeping: Sendable {
    /// The change reader, or nil when the backing store has no change log (then only this
    /// process writes it, through the cache).
    private let reader: Mutex<(any SessionChangeReader)?>
    private let lastRound = Atomic<Int64>(0)
    /// A store's hint said the change log has news: the next load does a round, due or not.
    private let hinted = Atomic<Bool>(false)
    private let interval: Int64
    private let ownOrigin: Int64?
    private let metrics: CacheMetrics
    private let logger: Logger

    init(
        reader: consuming sending (any SessionChangeReader)?,
        ownOrigin: Int64?,
        interval: Duration,
        metrics: CacheMetrics,
        logger: Logger
    ) {
        self.reader = Mutex(reader)
        self.ownOrigin = ownOrigin
        self.interval = max(0, interval.wholeMilliseconds) * 1_000_000
        self.metrics = metrics
        self.logger = logger
        self.lastRound.store(CoarseMonotonicClock.nanoseconds(), ordering: .relaxed)
    }

    /// Does a round if the last one is older than the interval.
    ///
    /// - Complexity: O(1) when none is due: a coarse clock read and an atomic load.
    @inline(__always)
    func runIfDue(_ cache: SessionCache) {
        let now = CoarseMonotonicClock.nanoseconds()
        guard now - lastRound.load(ordering: .relaxed) >= interval || hinted.load(ordering: .relaxed) else { return }
        run(cache, startedAt: now)
    }

    /// Does a round now, and makes sure one starts after this call even if another caller's
    /// round is under way (it may have read the log before the news).
    func runHinted(_ cache: SessionCache) {
        hinted.store(true, ordering: .releasing)
        run(cache)
    }

    /// Does a round now, unless another caller is doing one.
    func run(_ cache: SessionCache, startedAt: Int64 = CoarseMonotonicClock.nanoseconds()) {
        let ran = reader.withLockIfAvailable { reader -> Bool in
            hinted.store(false, ordering: .relaxed)
            if let reader { synchronize(cache, with: reader) }
            lastRound.store(startedAt, ordering: .relaxed)
            return true
        }
        if ran == true { metrics.report(cache.stats) }
    }

    private func synchronize(_ cache: SessionCache, with reader: any SessionChangeReader) {
        do {
            let batch = try reader.readChanges()
            if batch.missedChanges {
                logger.notice("the change log was trimmed past this cache's position; clearing the cache")
                cache.removeAll()
            }
            var applied = false
            for change in batch.changes where change.origin != ownOrigin {
                switch change.kind {
                // Messages are not cached; a revocation point arrives with a `revoked` change
                // for each session it ended (sessions made after it must stay).
                case .appended, .userRevoked:
                    continue
                default:
                    cache.remove(change.tokenHash, gone: change.removesToken)
                }
                applied = true
            }
            if applied { cache.recordCoherenceUpdate() }
        } catch {
            // Without the change log nothing in memory can be trusted to be current.
            logger.error("reading the change log failed; clearing the cache", metadata: ["error": "\(error)"])
            cache.removeAll()
        }
    }
}

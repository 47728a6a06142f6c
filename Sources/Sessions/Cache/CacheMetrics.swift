import CoreMetrics
import Synchronization

/// Publishes ``CacheStats`` through swift-metrics.
///
/// The hit path only bumps plain counters under the shard lock it already holds; this reporter
/// turns their growth into counter increments when asked (on coherence checks and `stats()`),
/// so no metrics backend is ever called per request.
final class CacheMetrics: Sendable {
    private let reported = Mutex(CacheStats())
    private let hits: Counter
    private let misses: Counter
    private let negativeHits: Counter
    private let evictions: Counter
    private let invalidations: Counter
    private let touchesSkipped: Counter
    private let touchesPersisted: Counter
    private let touchesFailed: Counter
    private let entries: Gauge
    private let bytes: Gauge

    /// - Parameters:
    ///   - prefix: Start of every label.
    ///   - factory: Where the metrics go; nil for the process-wide `MetricsSystem.factory`.
    init(prefix: String, factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        hits = Counter(label: "\(prefix)_hits_total", factory: factory)
        misses = Counter(label: "\(prefix)_misses_total", factory: factory)
        negativeHits = Counter(label: "\(prefix)_negative_hits_total", factory: factory)
        evictions = Counter(label: "\(prefix)_evictions_total", factory: factory)
        invalidations = Counter(label: "\(prefix)_invalidations_total", factory: factory)
        touchesSkipped = Counter(label: "\(prefix)_touches_skipped_total", factory: factory)
        touchesPersisted = Counter(label: "\(prefix)_touches_persisted_total", factory: factory)
        touchesFailed = Counter(label: "\(prefix)_touches_failed_total", factory: factory)
        entries = Gauge(label: "\(prefix)_entries", factory: factory)
        bytes = Gauge(label: "\(prefix)_bytes", factory: factory)
    }

    /// Reports what changed since the previous call.
    func report(_ current: CacheStats) {
        let previous = reported.withLock { reported in
            defer { reported = current }
            return reported
        }
        hits.increment(by: max(0, current.hits - previous.hits))
        misses.increment(by: max(0, current.misses - previous.misses))
        negativeHits.increment(by: max(0, current.negativeHits - previous.negativeHits))
        evictions.increment(by: max(0, current.evictions - previous.evictions))
        invalidations.increment(by: max(0, current.invalidations - previous.invalidations))
        touchesSkipped.increment(by: max(0, current.touchesSkipped - previous.touchesSkipped))
        touchesPersisted.increment(by: max(0, current.touchesPersisted - previous.touchesPersisted))
        touchesFailed.increment(by: max(0, current.touchesFailed - previous.touchesFailed))
        entries.record(current.entries)
        bytes.record(current.bytes)
    }
}

import CoreMetrics

/// What the SQLite store publishes through swift-metrics (labels in the article "Metrics and tracing").
///
/// Recorded per commit and per purge step, never per read, so a busy cached store pays nothing
/// for them on its hit path.
final class SQLiteStoreMetrics: Sendable {
    /// Group transactions committed.
    let commits: Counter
    /// Group transactions that failed to begin or commit (every operation in them failed).
    let commitFailures: Counter
    /// Operations per committed transaction.
    let commitOperations: Recorder
    /// From `BEGIN` to the end of `COMMIT` (with `.full`, including the fsync).
    let commitDuration: Timer
    /// Operations waiting for the writer when it takes a group.
    let writerQueueDepth: Gauge
    /// Expired sessions deleted.
    let purgedRows: Counter
    let touchesWritten: Counter
    let touchesSkipped: Counter
    let touchesFailed: Counter
    /// Entries in `session_changes`, measured after each purge step.
    let changeLogEntries: Gauge

    init(prefix: String, factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        commits = Counter(label: "\(prefix)_commits_total", factory: factory)
        commitFailures = Counter(label: "\(prefix)_commit_failures_total", factory: factory)
        commitOperations = Recorder(label: "\(prefix)_commit_operations", factory: factory)
        commitDuration = Timer(label: "\(prefix)_commit_duration_seconds", factory: factory)
        writerQueueDepth = Gauge(label: "\(prefix)_writer_queue_depth", factory: factory)
        purgedRows = Counter(label: "\(prefix)_purged_rows_total", factory: factory)
        touchesWritten = Counter(label: "\(prefix)_touches_total", dimensions: [("outcome", "written")], factory: factory)
        touchesSkipped = Counter(label: "\(prefix)_touches_total", dimensions: [("outcome", "skipped")], factory: factory)
        touchesFailed = Counter(label: "\(prefix)_touches_total", dimensions: [("outcome", "failed")], factory: factory)
        changeLogEntries = Gauge(label: "\(prefix)_change_log_entries", factory: factory)
    }
}

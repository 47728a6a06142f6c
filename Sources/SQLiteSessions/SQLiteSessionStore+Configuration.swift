public import CoreMetrics
public import Tracing
import Foundation
public import Logging

extension SQLiteSessionStore {
    /// When a commit counts as done.
    public enum Durability: String, Sendable, Hashable, CaseIterable {
        /// `PRAGMA synchronous = FULL`: every commit is fsynced to the WAL before callers resume.
        /// Survives a killed process and a power cut. The default.
        case full
        /// `PRAGMA synchronous = NORMAL`: commits reach the OS at once and the disk at checkpoints.
        /// Survives a killed process (SIGKILL) but may lose the last commits on power loss.
        case normal
    }

    /// How the store uses SQLite.
    public struct Configuration: Sendable {
        /// When a commit counts as done.
        public var durability: Durability
        /// How long an operation waits for another process's lock before failing with
        /// `SessionStoreError.Code.busy`.
        public var busyTimeout: Duration
        /// Reader connections kept open for reuse (more are opened on demand).
        public var readerConnections: Int
        /// Bytes of the file each reader maps into memory (`PRAGMA mmap_size`); 0 turns mapping off.
        public var memoryMapSize: Int
        /// Bytes of page cache for the writer connection (`PRAGMA cache_size`). Index updates for
        /// random token hashes touch pages all over the file; keeping them cached saves reads.
        public var writerCacheSize: Int
        /// The largest the database may grow, in bytes (`PRAGMA max_page_count`); nil for no limit.
        /// Writes beyond it fail with `SessionStoreError.Code.storageFull`.
        public var maxDatabaseSize: Int?
        /// The most operations one group commit carries.
        public var maxBatchSize: Int
        /// How long change-log entries are kept for caches and event streams of other processes.
        /// Entries a replication cursor has not passed are kept regardless.
        public var changeLogRetention: Duration
        /// Where warnings about background work go.
        public var logger: Logger
        /// Open the file for reading only: nothing is created, migrated or written, and every
        /// write fails with `SessionStoreError.Code.readOnly`. For inspecting a file
        /// that cannot or must not be changed (a backup, a read-only mount).
        public var readOnly: Bool
        /// Hand out session data that is sealed with a key this store does not have as it is
        /// stored (still sealed), instead of failing with
        /// `SessionStoreError.Code.decryptionFailed`; message contents read as a
        /// placeholder naming the key. For tools that list, export or copy a database without
        /// its keys (`sessionctl` without `--keys`). Never set it for a store that serves requests.
        public var keepsSealedData: Bool
        /// Start of the swift-metrics labels (`<prefix>_commits_total`, …; see the article "Metrics and tracing").
        public var metricsPrefix: String
        /// Where metrics go; nil for the process-wide `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?
        /// Where spans go; nil for the process-wide `InstrumentationSystem.tracer`.
        public var tracer: (any Tracer)?
        /// The SQLite VFS every connection opens the file through, by its registered name; nil
        /// for SQLite's default. For tests that simulate a failing disk or a power cut.
        public var vfs: String? = nil

        /// One reader per core, and at least two.
        public static var defaultReaderConnections: Int { max(2, ProcessInfo.processInfo.activeProcessorCount) }

        /// Creates a configuration; each parameter sets the property of the same name.
        public init(
            durability: Durability = .full,
            busyTimeout: Duration = .seconds(5),
            readerConnections: Int = Configuration.defaultReaderConnections,
            memoryMapSize: Int = 256 << 20,
            writerCacheSize: Int = 32 << 20,
            maxDatabaseSize: Int? = nil,
            maxBatchSize: Int = 1024,
            changeLogRetention: Duration = .seconds(600),
            logger: Logger = Logger(label: "sessions.sqlite"),
            readOnly: Bool = false,
            keepsSealedData: Bool = false,
            metricsPrefix: String = "sessions_sqlite",
            metricsFactory: (any MetricsFactory)? = nil,
            tracer: (any Tracer)? = nil
        ) {
            self.durability = durability
            self.busyTimeout = busyTimeout
            self.readerConnections = readerConnections
            self.memoryMapSize = memoryMapSize
            self.writerCacheSize = writerCacheSize
            self.maxDatabaseSize = maxDatabaseSize
            self.maxBatchSize = maxBatchSize
            self.changeLogRetention = changeLogRetention
            self.logger = logger
            self.readOnly = readOnly
            self.keepsSealedData = keepsSealedData
            self.metricsPrefix = metricsPrefix
            self.metricsFactory = metricsFactory
            self.tracer = tracer
        }
    }
}

import CSQLite
import Foundation
public import Sessions
import Synchronization

/// A durable session store in one SQLite file, for one host.
///
/// ```swift
/// let store = try SQLiteSessionStore(path: "sessions.sqlite")
/// let issued = try await store.create(userID: "alice", data: Data(#"{"cart":[]}"#.utf8))
/// let session = try await store.load(issued.token)
/// ```
///
/// - Writes go to one writer connection on a dedicated thread that commits in groups
///   (see ``Configuration/maxBatchSize``); an acknowledged write is committed, and with
///   ``Durability/full`` fsynced, so a killed process loses none of them.
/// - Reads run inline on a pool of reader connections; WAL lets them proceed beside the writer.
/// - Several processes may open the same file (a service and `sessionctl`): SQLite's locks and
///   the busy timeout serialize their writes.
/// - Every change appends to `session_changes` in the same transaction.
///
/// Opening blocks while the file is opened and migrated; do it at startup.
public final class SQLiteSessionStore: SessionStoreAdministration, SessionMessageLog {
    /// The database file.
    public let path: String
    /// The rules this store applies.
    public let policy: SessionPolicy
    /// How the store uses SQLite.
    public let configuration: Configuration
    /// This instance's mark in `session_changes.origin`, so it can tell its own changes from other processes'.
    public let origin: Int64
    /// The mark of changes this instance applied on behalf of other hosts
    /// (``applyShared(_:origin:position:)``), which its replicator must not send back.
    package let sharedOrigin: Int64

    let writer: GroupCommitWriter
    let readers: ReaderPool
    /// How data is sealed before it is handed to the writer, and opened after it is read.
    let codec: StoredDataCodec
    /// Hands out selectors, message ids and the clock readings of content writes.
    package let clock = HybridClock()
    /// Whether, and for how long, deletions are remembered for other hosts (see ``SharingSettings``).
    package let sharing = SharingSettings()
    /// Spans for this store's operations.
    let tracing: SessionTracing
    private let closed = Atomic<Bool>(false)

    /// Opens (creating if needed) and migrates the database at `path`.
    ///
    /// - Parameters:
    ///   - path: The database file. Its directory must be writable (SQLite keeps `-wal` and `-shm` files beside it).
    ///   - policy: Expiry, limits and clock.
    ///   - configuration: Durability, timeouts, pool sizes.
    /// - Throws: `SessionStoreError` with `SessionStoreError.Code.corruptDatabase` for a file
    ///   that is not a session database (left untouched), `SessionStoreError.Code.readOnly` for a file
    ///   that cannot be written, `SessionStoreError.Code.incompatibleSchema` for a file from a newer
    ///   version, `SessionStoreError.Code.ioError` when it cannot be opened.
    public init(
        path: String,
        policy: SessionPolicy = SessionPolicy(),
        configuration: Configuration = Configuration()
    ) throws {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else {
            throw SessionStoreError(
                .configurationError,
                "SQLiteSessionStore needs a file path, got \"\(path)\"; use InMemorySessionStore for a store in memory"
            )
        }
        try DatabaseFileCheck.check(path: path)
        self.path = path
        self.policy = policy
        self.configuration = configuration
        let origin = Int64.random(in: 1...Int64.max)
        self.origin = origin
        self.sharedOrigin = origin == Int64.max ? 1 : origin + 1
        self.tracing = SessionTracing(configuration.tracer, store: "sqlite")
        let codec = StoredDataCodec(encryption: policy.encryption, keepsSealedData: configuration.keepsSealedData)
        self.codec = codec
        var openCheckpointer: (@Sendable () throws(SessionStoreError) -> SQLiteConnection)?
        if !configuration.readOnly {
            openCheckpointer = { () throws(SessionStoreError) in
                let connection = try SQLiteConnection(path: path, mode: .readWrite(create: false), busyTimeout: configuration.busyTimeout, vfs: configuration.vfs)
                // A checkpoint syncs the WAL and the database file before the log may be reused,
                // at NORMAL and above; said here rather than left to SQLite's compiled default.
                try connection.execute("PRAGMA synchronous = \(configuration.durability == .full ? "FULL" : "NORMAL")", "configuring the checkpoint connection")
                return connection
            }
        }
        self.writer = try GroupCommitWriter(
            maxBatchSize: configuration.maxBatchSize,
            logger: configuration.logger,
            metrics: SQLiteStoreMetrics(prefix: configuration.metricsPrefix, factory: configuration.metricsFactory),
            open: { () throws(SessionStoreError) in
                let connection = try Self.openWriter(path: path, configuration: configuration)
                connection.codec = codec
                return connection
            },
            openCheckpointer: openCheckpointer
        )
        self.readers = ReaderPool(capacity: configuration.readerConnections) { () throws(SessionStoreError) in
            let connection = try Self.openReader(path: path, configuration: configuration)
            connection.codec = codec
            return connection
        }
        do {
            let highest = try readers.read { connection throws(SessionStoreError) in
                // Primary-key ends of two tables: new selectors and message ids come after them.
                try connection.integer(
                    "SELECT max((SELECT coalesce(max(id), 0) FROM sessions), (SELECT coalesce(max(id), 0) FROM session_messages))",
                    "reading the highest ids"
                ) ?? 0
            }
            clock.advance(past: highest)
        } catch {
            writer.shutdown()
            throw error
        }
    }

    deinit {
        writer.shutdown()
    }

    /// Waits until every write enqueued before this call, including background touches, has committed.
    public func flush() async throws {
        try checkOpen()
        try await writer.flush()
    }

    public func healthCheck() async -> SessionStoreHealth {
        var details = ["backend": "sqlite", "path": path]
        do {
            try checkOpen()
            let version = try await read { connection throws(SessionStoreError) in
                try SchemaMigrator.version(of: connection)
            }
            details["schema_version"] = String(version)
            let stats = writer.stats
            details["transactions"] = String(stats.transactions)
            details["touch_failures"] = String(stats.touchesFailed)
            return SessionStoreHealth(status: .healthy, message: "SQLite session store at \(path)", details: details)
        } catch {
            details["error"] = "\(error)"
            return SessionStoreHealth(status: .unhealthy, message: "SQLite session store at \(path) cannot serve: \(error)", details: details)
        }
    }

    public func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        readers.close()
        await writer.close()
    }

    /// Runs a read on a pooled connection.
    ///
    /// The busy timeout makes SQLite wait out other processes' locks, but in WAL mode a read can
    /// still get `SQLITE_BUSY` without waiting (while another connection runs recovery or restarts
    /// the WAL: <https://www.sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode>).
    /// Those are retried here, sleeping without holding a thread, for up to the busy timeout.
    func read<T>(_ body: (SQLiteConnection) throws(SessionStoreError) -> T) async throws -> T {
        let deadline = ContinuousClock.now + configuration.busyTimeout
        var pause = Duration.milliseconds(1)
        while true {
            let result: Result<T, SessionStoreError> = Result { () throws(SessionStoreError) in try readers.read(body) }
            guard case .failure(let error) = result, error.code == .busy, ContinuousClock.now + pause < deadline else {
                return try result.get()
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    func checkOpen() throws(SessionStoreError) {
        if closed.load(ordering: .acquiring) {
            throw SessionStoreError(.closed, "the SQLite session store at \(path) was closed")
        }
    }

    // MARK: Opening connections

    private static func openWriter(path: String, configuration: Configuration) throws(SessionStoreError) -> SQLiteConnection {
        if configuration.readOnly { return try openForReading(path: path, configuration: configuration) }
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: true), busyTimeout: configuration.busyTimeout, vfs: configuration.vfs)
        if connection.isReadOnly {
            throw SessionStoreError(
                .readOnly,
                "\(path) cannot be written (the file, its directory or the file system is read-only); the store needs write access"
            )
        }
        // Refuse a file that is not ours before anything is written to it: switching to WAL
        // already rewrites the header.
        _ = try SchemaMigrator().checkCompatible(connection)
        let mode = try connection.text("PRAGMA journal_mode = WAL", "switching to WAL mode")
        guard mode?.lowercased() == "wal" else {
            throw SessionStoreError(.ioError, "\(path) could not be switched to WAL mode (journal_mode is \(mode ?? "unknown"))")
        }
        try connection.execute(
            """
            PRAGMA synchronous = \(configuration.durability == .full ? "FULL" : "NORMAL");
            PRAGMA foreign_keys = ON;
            PRAGMA journal_size_limit = \(64 << 20);
            PRAGMA cache_size = -\(configuration.writerCacheSize / 1024);
            """,
            "configuring the writer connection"
        )
        // Changes made through this library are logged with their real kind by the store; the
        // schema's triggers exist for writers outside the library.
        csqlite_enable_triggers(connection.handle, 0)
        csqlite_set_defensive(connection.handle, 1)
        try SchemaMigrator().migrate(connection)
        if let maxSize = configuration.maxDatabaseSize {
            let pageSize = try connection.integer("PRAGMA page_size", "reading the page size") ?? 4096
            let pages = max(1, Int64(maxSize) / pageSize)
            _ = try connection.integer("PRAGMA max_page_count = \(pages)", "limiting the database size")
        }
        return connection
    }

    /// A read-only connection to a file that must already hold the current schema.
    private static func openForReading(path: String, configuration: Configuration) throws(SessionStoreError) -> SQLiteConnection {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SessionStoreError(.notFound, "no session database at \(path)")
        }
        let connection = try SQLiteConnection(path: path, mode: .readOnly, busyTimeout: configuration.busyTimeout, vfs: configuration.vfs)
        let version = try SchemaMigrator().checkCompatible(connection)
        guard version == SessionSchema.latestVersion else {
            throw SessionStoreError(
                .incompatibleSchema,
                "\(path) has schema version \(version), older than \(SessionSchema.latestVersion); open it writable once (or run sessionctl migrate) to upgrade it"
            )
        }
        return connection
    }

    private static func openReader(path: String, configuration: Configuration) throws(SessionStoreError) -> SQLiteConnection {
        if configuration.readOnly {
            let connection = try SQLiteConnection(path: path, mode: .readOnly, busyTimeout: configuration.busyTimeout, vfs: configuration.vfs)
            try connection.execute("PRAGMA mmap_size = \(configuration.memoryMapSize)", "configuring a reader connection")
            return connection
        }
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: false), busyTimeout: configuration.busyTimeout, vfs: configuration.vfs)
        try connection.execute(
            """
            PRAGMA query_only = ON;
            PRAGMA mmap_size = \(configuration.memoryMapSize);
            """,
            "configuring a reader connection"
        )
        csqlite_enable_triggers(connection.handle, 0)
        return connection
    }
}

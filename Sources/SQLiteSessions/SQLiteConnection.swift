import CSQLite
import Foundation
import Sessions

/// One SQLite connection and its prepared statements.
///
/// Not thread-safe and deliberately not `Sendable`: the writer thread owns one, and the reader
/// pool lends each of the others to one caller at a time.
final class SQLiteConnection {
    /// How to open the file.
    enum Mode {
        /// Read and write; create the file when `create` is true and it does not exist.
        case readWrite(create: Bool)
        /// Read only.
        case readOnly
    }

    let handle: OpaquePointer
    let path: String
    /// Seals session data written through this connection and opens what it reads.
    var codec = StoredDataCodec()
    private var statements: [SQLiteStatement?]
    private var adHocStatements: [String: SQLiteStatement] = [:]

    /// Opens `path`.
    ///
    /// - Throws: ``SessionStoreError`` translated from `sqlite3_open_v2`.
    /// - Parameter vfs: The VFS to open the file through, by registered name; nil for the default.
    init(path: String, mode: Mode, busyTimeout: Duration, vfs: String? = nil) throws(SessionStoreError) {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWrite(let create): flags |= SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, vfs)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw SessionStoreError(sqlite: SQLiteResultCode(code), message: message, context: "opening \(path)")
        }
        self.handle = handle
        self.path = path
        self.statements = Array(repeating: nil, count: SessionSQL.allCases.count)
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(clamping: busyTimeout.wholeMilliseconds))
    }

    private var isOpen = true
    /// Where the WAL hook writes the log's size, once ``trackWriteAheadLog()`` installed it.
    private var walFrames: UnsafeMutablePointer<Int32>?

    /// Stops this connection's commits from checkpointing and has them report the log's size
    /// instead (``writeAheadLogFrames``), for a checkpoint elsewhere (``WALCheckpointer``).
    func trackWriteAheadLog() {
        guard walFrames == nil else { return }
        let frames = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        frames.initialize(to: 0)
        walFrames = frames
        csqlite_track_wal_frames(handle, frames)
    }

    /// Whether commits are fsynced (`PRAGMA synchronous = FULL`, the store's ``SQLiteSessionStore/Durability/full``).
    var isFullySynchronous: Bool {
        let statement = try? cachedStatement("PRAGMA synchronous")
        defer { statement?.reset() }
        return (try? statement?.step("reading the synchronous setting")) == true && statement?.int64(0) ?? 0 >= 2
    }

    /// Switches between `synchronous = FULL` and `NORMAL`; outside a transaction only (SQLite refuses inside one).
    func setFullySynchronous(_ full: Bool) {
        try? execute("PRAGMA synchronous = \(full ? "FULL" : "NORMAL")", "changing the synchronous setting")
    }

    /// Frames in the write-ahead log after this connection's last commit; 0 when not tracked.
    var writeAheadLogFrames: Int { walFrames.map { Int($0.pointee) } ?? 0 }

    deinit {
        close()
    }

    /// Finalizes the statements and closes the connection; the last connection to close checkpoints
    /// the WAL into the main file. Closing twice is harmless.
    func close() {
        guard isOpen else { return }
        isOpen = false
        statements.removeAll()
        adHocStatements.removeAll()
        if let walFrames {
            sqlite3_wal_hook(handle, nil, nil)
            walFrames.deallocate()
            self.walFrames = nil
        }
        sqlite3_close_v2(handle)
    }

    /// Whether SQLite opened the main database read-only (for example because the file is not writable).
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// The rowid of the last successful INSERT on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// Whether no transaction is open (SQLite rolled back, or none was begun).
    var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// Rows inserted, updated or deleted through this connection since it opened
    /// (`sqlite3_total_changes64`): an operation that failed without changing it left nothing to undo.
    var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    /// The current error message of the connection.
    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs one or more statements that return no rows (a schema script, a PRAGMA, BEGIN).
    func execute(_ sql: String, _ context: @autoclosure () -> String) throws(SessionStoreError) {
        var errorPointer: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorPointer)
        guard code == SQLITE_OK else {
            let message = errorPointer.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(errorPointer)
            throw SessionStoreError(sqlite: SQLiteResultCode(code), message: message, context: "\(path): \(context())")
        }
    }

    /// Compiles `sql`.
    func prepare(_ sql: String, persistent: Bool = false) throws(SessionStoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sqlite3_prepare_v3(handle, sql, -1, flags, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            throw SessionStoreError(
                sqlite: SQLiteResultCode(code),
                message: errorMessage,
                context: "\(path): preparing \"\(sql.prefix(80))\""
            )
        }
        return SQLiteStatement(handle: statement, sql: sql)
    }

    /// The cached prepared form of one of the store's statements, compiled on first use.
    ///
    /// - Complexity: O(1) after the first call: an array index, no hashing of SQL text.
    func statement(_ key: SessionSQL) throws(SessionStoreError) -> SQLiteStatement {
        if let statement = statements[key.rawValue] { return statement }
        let statement = try prepare(key.sql, persistent: true)
        statements[key.rawValue] = statement
        return statement
    }

    /// A cached prepared statement for SQL text built at run time (tools, views).
    func cachedStatement(_ sql: String) throws(SessionStoreError) -> SQLiteStatement {
        if let statement = adHocStatements[sql] { return statement }
        let statement = try prepare(sql, persistent: true)
        adHocStatements[sql] = statement
        return statement
    }

    /// Runs `body` with a statement, resetting it afterwards whatever happens.
    func with<T>(
        _ key: SessionSQL,
        _ body: (SQLiteStatement) throws(SessionStoreError) -> T
    ) throws(SessionStoreError) -> T {
        let statement = try statement(key)
        defer { statement.reset() }
        return try body(statement)
    }

    /// Reads a single integer, such as a PRAGMA value.
    func integer(_ sql: String, _ context: @autoclosure () -> String) throws(SessionStoreError) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step(context()) else { return nil }
        return statement.optionalInt64(0)
    }

    /// Reads a single text value, such as `PRAGMA journal_mode`.
    func text(_ sql: String, _ context: @autoclosure () -> String) throws(SessionStoreError) -> String? {
        let statement = try prepare(sql)
        guard try statement.step(context()) else { return nil }
        return statement.optionalString(0)
    }
}

import CSQLite
import Foundation

/// A bare SQLite connection on the C API, written for the benchmark's peers: what an application
/// would write by hand, with none of the store's machinery.
///
/// Not thread-safe: one task uses a connection at a time (the naive store's pool hands each one
/// to a single borrower; the raw lookup uses its own).
final class RawConnection {
    let handle: OpaquePointer

    init(path: String) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            sqlite3_close_v2(handle)
            throw BenchmarkFailure("cannot open \(path): SQLite error \(result)")
        }
        self.handle = handle
        sqlite3_busy_timeout(handle, 10_000)
    }

    deinit { sqlite3_close_v2(handle) }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchmarkFailure("\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
    }

    func prepare(_ sql: String) throws -> RawStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
            throw BenchmarkFailure("\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        return RawStatement(statement, connection: handle)
    }
}

/// A prepared statement of a ``RawConnection``.
final class RawStatement {
    private let statement: OpaquePointer
    private let connection: OpaquePointer

    init(_ statement: OpaquePointer, connection: OpaquePointer) {
        self.statement = statement
        self.connection = connection
    }

    deinit { sqlite3_finalize(statement) }

    func bind(_ value: Int64, at index: Int32) { sqlite3_bind_int64(statement, index, value) }

    func bind(_ value: Int64?, at index: Int32) {
        guard let value else { return _ = sqlite3_bind_null(statement, index) }
        sqlite3_bind_int64(statement, index, value)
    }

    func bind(_ value: String?, at index: Int32) {
        guard let value else { return _ = sqlite3_bind_null(statement, index) }
        sqlite3_bind_text(statement, index, value, -1, csqlite_transient())
    }

    func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32) {
        sqlite3_bind_blob(statement, index, bytes.baseAddress, Int32(bytes.count), csqlite_transient())
    }

    func bind(_ data: Data, at index: Int32) {
        data.withUnsafeBytes { bind($0, at: index) }
    }

    /// Steps once: true for a row, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw BenchmarkFailure("step: \(String(cString: sqlite3_errmsg(connection)))")
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    func run() throws {
        defer { reset() }
        _ = try step()
    }

    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: text)
    }

    /// Whether the BLOB in `column` holds exactly `bytes`, compared in place.
    func blob(_ column: Int32, equals bytes: UnsafeRawBufferPointer) -> Bool {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count == bytes.count, let blob = sqlite3_column_blob(statement, column) else { return false }
        return memcmp(blob, bytes.baseAddress!, count) == 0
    }

    func data(_ column: Int32) -> Data {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return Data() }
        return Data(bytes: bytes, count: count)
    }
}

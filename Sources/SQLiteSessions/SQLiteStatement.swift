import CSQLite
import Foundation
import Sessions

/// A prepared statement. Finalized when released.
///
/// Bind values with the `bind` methods (1-based indexes, as in SQLite), `step()` through the
/// rows, read columns with the typed accessors (0-based), and `reset()` before reuse.
final class SQLiteStatement {
    let handle: OpaquePointer
    let sql: String

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    private var database: OpaquePointer { sqlite3_db_handle(handle) }

    // MARK: Binding

    func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ value: Int64?, at index: Int32) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ value: Int, at index: Int32) {
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    func bind(_ value: String?, at index: Int32) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        var text = value
        text.withUTF8 { utf8 in
            _ = utf8.withMemoryRebound(to: CChar.self) { chars in
                // An empty string must bind as '' (not NULL), so never pass a nil pointer.
                "".withCString { empty in
                    sqlite3_bind_text(handle, index, chars.baseAddress ?? empty, Int32(chars.count), csqlite_transient())
                }
            }
        }
    }

    func bind(_ value: Data, at index: Int32) {
        value.withUnsafeBytes { raw in
            // A zero-length blob must still be a BLOB, not NULL: SQLite treats a nil pointer as NULL.
            let zero: UInt8 = 0
            withUnsafePointer(to: zero) { fallback in
                _ = sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(fallback), Int32(raw.count), csqlite_transient())
            }
        }
    }

    func bind(_ value: TokenHash, at index: Int32) {
        value.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), csqlite_transient())
        }
    }

    func bind(_ value: TokenHash?, at index: Int32) {
        if let value { bind(value, at: index) } else { sqlite3_bind_null(handle, index) }
    }

    // MARK: Stepping

    /// Advances to the next row.
    ///
    /// - Returns: True when a row is available, false when the statement is done.
    /// - Throws: The translated SQLite error; the statement is reset.
    func step(_ context: @autoclosure () -> String) throws(SessionStoreError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = String(cString: sqlite3_errmsg(database))
            sqlite3_reset(handle)
            let file = sqlite3_db_filename(database, "main").map { String(cString: $0) } ?? "database"
            throw SessionStoreError(sqlite: SQLiteResultCode(code), message: message, context: "\(file): \(context())")
        }
    }

    /// Runs a statement that returns no rows.
    func run(_ context: @autoclosure () -> String) throws(SessionStoreError) {
        defer { sqlite3_reset(handle) }
        while try step(context()) {}
    }

    /// Clears the statement for its next use. Bindings stay until overwritten.
    func reset() {
        sqlite3_reset(handle)
    }

    // MARK: Columns

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func isBlob(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_BLOB
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : sqlite3_column_int64(handle, column)
    }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalString(_ column: Int32) -> String? {
        isNull(column) ? nil : string(column)
    }

    func data(_ column: Int32) -> Data {
        guard let blob = sqlite3_column_blob(handle, column) else { return Data() }
        return Data(bytes: blob, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func tokenHash(_ column: Int32) -> TokenHash? {
        guard let blob = sqlite3_column_blob(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return TokenHash(rawBytes: UnsafeRawBufferPointer(start: blob, count: count))
    }
}

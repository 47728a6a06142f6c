import CSQLite
import Sessions

/// An SQLite result code, primary or extended.
///
/// See <https://www.sqlite.org/rescode.html>: "The least significant 8 bits of an extended result
/// code are its primary result code."
struct SQLiteResultCode: Hashable, CustomStringConvertible {
    let rawValue: Int32

    init(_ rawValue: Int32) { self.rawValue = rawValue }

    var primary: Int32 { rawValue & 0xFF }

    /// SQLite's English text for the code.
    var description: String { String(cString: sqlite3_errstr(rawValue)) }

    /// Matches an extended code against a primary one: `case .busy:` matches `SQLITE_BUSY_RECOVERY`.
    static func ~= (pattern: SQLiteResultCode, value: SQLiteResultCode) -> Bool {
        pattern.rawValue == value.primary
    }

    static let busy = SQLiteResultCode(SQLITE_BUSY)
    static let locked = SQLiteResultCode(SQLITE_LOCKED)
    static let full = SQLiteResultCode(SQLITE_FULL)
    static let readOnly = SQLiteResultCode(SQLITE_READONLY)
    static let corrupt = SQLiteResultCode(SQLITE_CORRUPT)
    static let notADatabase = SQLiteResultCode(SQLITE_NOTADB)
    static let ioError = SQLiteResultCode(SQLITE_IOERR)
    static let cantOpen = SQLiteResultCode(SQLITE_CANTOPEN)
    static let permission = SQLiteResultCode(SQLITE_PERM)
    static let tooBig = SQLiteResultCode(SQLITE_TOOBIG)
    static let noMemory = SQLiteResultCode(SQLITE_NOMEM)
    static let constraint = SQLiteResultCode(SQLITE_CONSTRAINT)
    /// `SQLITE_CONSTRAINT_PRIMARYKEY`, `SQLITE_CONSTRAINT | (6 << 8)` (a macro Swift does not import).
    static let constraintPrimaryKey = SQLiteResultCode(SQLITE_CONSTRAINT | (6 << 8))
}

extension SessionStoreError {
    /// Translates an SQLite failure into the store's error, keeping SQLite's code and message.
    ///
    /// - Parameters:
    ///   - code: The (extended) result code.
    ///   - message: `sqlite3_errmsg` at the time of the failure.
    ///   - context: What the store was doing, for the message.
    init(sqlite code: SQLiteResultCode, message: String, context: String) {
        let underlying = Underlying(code: code.rawValue, message: message)
        switch code {
        case .full:
            self.init(.storageFull, "\(context): the database or the disk is full; nothing was written", underlying: underlying)
        case .readOnly, .permission:
            self.init(.readOnly, "\(context): the database cannot be written (read-only file, directory or mount)", underlying: underlying)
        case .corrupt, .notADatabase:
            self.init(.corruptDatabase, "\(context): the file is not a valid session database or is damaged", underlying: underlying)
        case .busy, .locked:
            self.init(.busy, "\(context): another connection held the database lock past the busy timeout", underlying: underlying)
        case .ioError, .cantOpen:
            self.init(.ioError, "\(context): the operating system reported an I/O error", underlying: underlying)
        case .constraint:
            self.init(.invalidArgument, "\(context): a value breaks a rule of the schema (\(message))", underlying: underlying)
        case .tooBig:
            self.init(.payloadTooLarge, "\(context): a value exceeds SQLite's size limit", underlying: underlying)
        default:
            self.init(.internalError, "\(context): SQLite failed", underlying: underlying)
        }
    }
}

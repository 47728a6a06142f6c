/// Facts about the database file, for operators (`sessionctl stats`) and health pages.
public struct SQLiteDatabaseInfo: Sendable, Hashable, Codable {
    /// The database file.
    public var path: String
    /// `PRAGMA user_version`: the schema migrations applied.
    public var schemaVersion: Int
    /// The newest schema this library knows.
    public var latestSchemaVersion: Int
    /// Bytes per page.
    public var pageSize: Int
    /// Pages in the database.
    public var pageCount: Int
    /// Pages on the free list (reusable without growing the file; `VACUUM` returns them to the OS).
    public var freePages: Int
    /// Size of the main file in bytes.
    public var fileSize: Int
    /// Size of the `-wal` file in bytes; 0 when absent.
    public var walSize: Int
    /// Entries currently in `session_changes`.
    public var changeLogEntries: Int
    /// The newest change-log sequence number ever written.
    public var lastChangeSequence: Int64
    /// Replication cursors and their positions.
    public var cursors: [String: Int64]
}

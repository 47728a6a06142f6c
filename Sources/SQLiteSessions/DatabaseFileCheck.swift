import Foundation
import Sessions

/// Checks a database file's header before SQLite opens it for writing.
///
/// SQLite opens any file without complaint and only fails on first use, and by then a write-mode
/// open of a damaged file may already have created journal files next to it. Reading the 100-byte
/// header first lets the store refuse a garbage or truncated file with a clear error while leaving
/// it exactly as it was. Layout: <https://www.sqlite.org/fileformat2.html#the_database_header>.
enum DatabaseFileCheck {
    /// Throws unless `path` is missing, empty, or looks like a complete SQLite database.
    static func check(path: String) throws(SessionStoreError) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let header: Data
        let fileSize: UInt64
        do {
            header = try handle.read(upToCount: 100) ?? Data()
            fileSize = try handle.seekToEnd()
        } catch {
            throw SessionStoreError(.ioError, "cannot read \(path): \(error)")
        }
        if header.isEmpty { return }
        let magic = Array("SQLite format 3\0".utf8)
        guard header.count == 100, Array(header.prefix(16)) == magic else {
            throw SessionStoreError(
                .corruptDatabase,
                "\(path) is not an SQLite database (its first bytes are not the SQLite header); the file was left untouched"
            )
        }
        let bytes = [UInt8](header)
        func bigEndian32(_ offset: Int) -> UInt32 {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let rawPageSize = UInt32(bytes[16]) << 8 | UInt32(bytes[17])
        let pageSize = rawPageSize == 1 ? 65_536 : UInt64(rawPageSize)
        guard pageSize >= 512, pageSize & (pageSize - 1) == 0 else {
            throw SessionStoreError(.corruptDatabase, "\(path) has an invalid page size (\(rawPageSize)); the file was left untouched")
        }
        // While a write-ahead log exists, another process may be checkpointing into the file:
        // its header and size can disagree for a moment, and SQLite reconciles them. The size
        // checks below are only meaningful for a file at rest.
        if FileManager.default.fileExists(atPath: path + "-wal") { return }
        // The in-header page count is valid when the change counter matches "version-valid-for".
        let pageCount = UInt64(bigEndian32(28))
        if pageCount > 0, bigEndian32(24) == bigEndian32(92), pageCount * pageSize > fileSize {
            throw SessionStoreError(
                .corruptDatabase,
                "\(path) is truncated: its header promises \(pageCount * pageSize) bytes but the file has \(fileSize); the file was left untouched"
            )
        }
        if fileSize % pageSize != 0 {
            throw SessionStoreError(
                .corruptDatabase,
                "\(path) is \(fileSize) bytes, not a whole number of \(pageSize)-byte pages (truncated or damaged); the file was left untouched"
            )
        }
    }
}

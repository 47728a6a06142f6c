import Foundation
import Sessions

extension SQLiteSessionStore {
    /// Reads facts about the file: schema version, page figures, file and WAL sizes, change log.
    public func databaseInfo() async throws -> SQLiteDatabaseInfo {
        try checkOpen()
        let path = self.path
        var info = try await read { connection throws(SessionStoreError) in
            func integer(_ sql: String) throws(SessionStoreError) -> Int {
                Int(try connection.integer(sql, "inspecting the database") ?? 0)
            }
            var cursors: [String: Int64] = [:]
            let statement = try connection.prepare("SELECT name, seq FROM replication_cursors ORDER BY name")
            while try statement.step("reading replication cursors") {
                cursors[statement.string(0)] = statement.int64(1)
            }
            return SQLiteDatabaseInfo(
                path: path,
                schemaVersion: try integer("PRAGMA user_version"),
                latestSchemaVersion: Int(SessionSchema.latestVersion),
                pageSize: try integer("PRAGMA page_size"),
                pageCount: try integer("PRAGMA page_count"),
                freePages: try integer("PRAGMA freelist_count"),
                fileSize: 0,
                walSize: 0,
                changeLogEntries: try integer("SELECT count(*) FROM session_changes"),
                lastChangeSequence: try connection.lastChangeSequence(),
                cursors: cursors
            )
        }
        info.fileSize = Self.fileSize(path)
        info.walSize = Self.fileSize(path + "-wal")
        return info
    }

    private static func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}

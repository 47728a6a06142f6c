import Foundation
import SessionTestSupport
import Sessions
@testable import SQLiteSessions
import Testing

@Suite("Schema and migrations")
struct SchemaTests {
    static let schemaDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schema")

    @Test func appliedSQLIsByteForByteTheFilesInSchema() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.schemaDirectory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == SessionSchema.migrations.map(\.fileName), "every schema file is a migration, in order")
        for (index, migration) in SessionSchema.migrations.enumerated() {
            #expect(migration.version == Int32(index + 1))
            #expect(migration.fileName.hasPrefix(String(format: "%03d_", migration.version)))
            let file = try Data(contentsOf: Self.schemaDirectory.appendingPathComponent(migration.fileName))
            #expect(file == Data(migration.sql.utf8), "\(migration.fileName) differs from the SQL the code applies")
        }
    }

    @Test func aNewFileGetsTheLatestSchemaAndReopeningChangesNothing() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path)
        let issued = try await store.create(userID: "u")
        #expect(try await store.databaseInfo().schemaVersion == Int(SessionSchema.latestVersion))
        try await store.close()
        let journal = try sqlite3(path, "PRAGMA journal_mode;")
        #expect(journal.standardOutput == "wal\n", "\(journal)")

        let reopened = try SQLiteSessionStore(path: path)
        #expect(try await reopened.load(issued.token) != nil)
        try await reopened.close()
        let objects = try sqlite3(path, "SELECT type || ' ' || name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY 1;")
        #expect(objects.standardOutput == """
            index session_messages_session_idx
            index sessions_expires_at_idx
            index sessions_user_idx
            table replication_cursors
            table session_changes
            table session_messages
            table sessions
            trigger sessions_delete_messages
            trigger sessions_log_delete
            trigger sessions_log_insert
            trigger sessions_log_update
            view active_sessions
            view expired_sessions
            view recent_changes
            view recent_messages
            view sessions_by_user

            """)
    }

    @Test func aFileFromANewerVersionIsRefusedAndLeftAlone() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        try await SQLiteSessionStore(path: path).close()
        #expect(try sqlite3(path, "PRAGMA user_version = 99;").status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            try SQLiteSessionStore(path: path)
        } throws: { error in
            guard let error = error as? SessionStoreError else { return false }
            return error.code == .incompatibleSchema && error.message.contains("99")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func anotherApplicationsDatabaseIsRefusedAndLeftAlone() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("other.sqlite").path
        #expect(try sqlite3(path, "CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);").status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            try SQLiteSessionStore(path: path)
        } throws: { error in
            (error as? SessionStoreError)?.code == .incompatibleSchema
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try sqlite3(path, "SELECT count(*) FROM invoices;").standardOutput == "1\n")
    }

    @Test func aVersion1FileIsMigratedInPlaceAndKeepsItsSessions() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path)
        let issued = try await store.create(userID: "u", data: Data("kept".utf8))
        try await store.close()
        // Take the file back to what version 1 created.
        let downgrade = try sqlite3(path, """
            DROP VIEW recent_messages; DROP TRIGGER sessions_delete_messages; DROP TABLE session_messages;
            PRAGMA user_version = 1;
            """)
        #expect(downgrade.status == 0, "\(downgrade)")

        let reopened = try SQLiteSessionStore(path: path)
        #expect(try await reopened.databaseInfo().schemaVersion == 2)
        #expect(try await reopened.load(issued.token)?.data == Data("kept".utf8))
        _ = try await reopened.append(SessionMessageDraft(role: .user, content: "hello"), to: issued.token)
        #expect(try await reopened.messages(for: issued.token, last: 10)?.map(\.content) == ["hello"])
        try await reopened.close()
        #expect(try sqlite3(path, "SELECT role, content FROM recent_messages;").standardOutput == "user|hello\n")
    }

    @Test func aFailedMigrationLeavesTheFileAtTheOldVersion() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let broken = SchemaMigration(version: 3, fileName: "003_broken.sql", sql: "CREATE TABLE extra (id INTEGER); SELECT no_such_function();")
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: true), busyTimeout: .seconds(1))
        #expect(throws: SessionStoreError.self) {
            try SchemaMigrator(migrations: SessionSchema.migrations + [broken]).migrate(connection)
        }
        #expect(try SchemaMigrator.version(of: connection) == 2)
        #expect(try connection.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'", "") == 0)
        #expect(try SchemaMigrator().migrate(connection) == [])
    }
}

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
            index session_tombstones_until_idx
            index sessions_expires_at_idx
            index sessions_legacy_token_idx
            index sessions_user_idx
            table host_tags
            table replication_cursors
            table session_changes
            table session_messages
            table session_tombstones
            table sessions
            table stream_cursors
            table user_revocations
            trigger sessions_delete_messages
            trigger sessions_log_delete
            trigger sessions_log_insert
            trigger sessions_log_update
            view active_sessions
            view expired_sessions
            view recent_changes
            view recent_messages
            view sessions_by_user
            view sync_position
            view tombstones

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
            DROP VIEW tombstones; DROP VIEW sync_position;
            DROP TABLE session_tombstones; DROP TABLE user_revocations; DROP TABLE stream_cursors; DROP TABLE host_tags;
            ALTER TABLE session_changes DROP COLUMN message_id;
            ALTER TABLE sessions DROP COLUMN clock; ALTER TABLE sessions DROP COLUMN base_clock;
            DROP VIEW recent_messages; DROP TRIGGER sessions_delete_messages; DROP TABLE session_messages;
            PRAGMA user_version = 1;
            """)
        #expect(downgrade.status == 0, "\(downgrade)")

        let reopened = try SQLiteSessionStore(path: path)
        #expect(try await reopened.databaseInfo().schemaVersion == Int(SessionSchema.latestVersion))
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
        let broken = SchemaMigration(
            version: SessionSchema.latestVersion + 1,
            fileName: "999_broken.sql",
            sql: "CREATE TABLE extra (id INTEGER); SELECT no_such_function();"
        )
        let connection = try SQLiteConnection(path: path, mode: .readWrite(create: true), busyTimeout: .seconds(1))
        #expect(throws: SessionStoreError.self) {
            try SchemaMigrator(migrations: SessionSchema.migrations + [broken]).migrate(connection)
        }
        #expect(try SchemaMigrator.version(of: connection) == SessionSchema.latestVersion)
        #expect(try connection.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'", "") == 0)
        #expect(try SchemaMigrator().migrate(connection) == [])
    }

    @Test func aVersion2FileIsUpgradedAndEveryOldTokenStillOpensItsSession() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("v2.sqlite").path
        let now = StoreHarness.fixedStart
        let hour: Int64 = 3_600_000

        // A version-2 file, built with that version's own SQL, holding sessions as version 2
        // wrote them: ids counting from 1, random 32-byte tokens, a UNIQUE index on token_hash.
        let old = try SQLiteConnection(path: path, mode: .readWrite(create: true), busyTimeout: .seconds(5))
        _ = try old.text("PRAGMA journal_mode = WAL", "")
        try SchemaMigrator(migrations: [SessionSchema.version1, SessionSchema.version2]).migrate(old)
        #expect(try SchemaMigrator.version(of: old) == 2)
        var live: [(token: SessionToken, data: String, user: String?)] = []
        var expired: [SessionToken] = []
        for index in 0..<400 {
            let token = SessionToken.generate()
            let ends = index % 10 == 9 ? now.millisecondsSince1970 - hour : now.millisecondsSince1970 + hour
            let user = index % 3 == 0 ? "NULL" : "'user\(index % 7)'"
            try old.execute("""
                INSERT INTO sessions (token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at,
                    idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent)
                VALUES (X'\(token.hash.hex)', \(user), CAST('{"n":\(index)}' AS BLOB), NULL, \(ends - 2 * hour), \(ends - 2 * hour),
                    \(ends - 2 * hour), NULL, \(ends), \(ends), 1, '198.51.100.\(index % 250)', 'Old/1.0')
                """, "writing a version-2 session")
            if index % 10 == 9 { expired.append(token) } else { live.append((token, #"{"n":\#(index)}"#, index % 3 == 0 ? nil : "user\(index % 7)")) }
        }
        try old.execute("INSERT INTO session_messages (session_id, role, content, created_at) VALUES (2, 'user', 'kept through the upgrade', 1)", "")
        old.close()

        let clock = ManualSessionClock(now)
        let store = try SQLiteSessionStore(path: path, policy: SessionPolicy(clock: clock))
        #expect(try await store.databaseInfo().schemaVersion == Int(SessionSchema.latestVersion))
        for (token, data, user) in live {
            let session = try #require(try await store.load(token), "an old token lost its session")
            #expect(session.data == Data(data.utf8))
            #expect(session.userID == user)
            #expect(session.id < 1 << 32)
        }
        for token in expired { #expect(try await store.load(token) == nil) }
        #expect(try await store.messages(for: live[1].token, last: 5)?.map(\.content) == ["kept through the upgrade"])
        #expect(try await store.sessions(forUser: "user1").count == live.count { $0.user == "user1" })

        // New sessions use the new layout: the token's selector is the row's id, above every old id.
        let fresh = try await store.create(userID: "user1")
        #expect(fresh.session.id == fresh.token.selector)
        #expect(fresh.session.id >= 1 << 32)
        #expect(try await store.load(fresh.token)?.id == fresh.session.id)

        // Rotating an old session gives it its id as selector; the old token dies.
        let rotated = try #require(try await store.rotate(live[0].token))
        #expect(rotated.token.selector == rotated.session.id)
        #expect(try await store.load(live[0].token) == nil)
        #expect(try await store.load(rotated.token)?.data == Data(live[0].data.utf8))

        // Purging the expired old sessions empties them out of the index old tokens use.
        #expect(try await store.purgeExpired(limit: 1000) == expired.count)
        try await store.close()
        #expect(try sqlite3(path, "PRAGMA integrity_check;").standardOutput == "ok\n")
        #expect(try sqlite3(path, "PRAGMA foreign_key_check;").standardOutput == "")
        let legacy = try sqlite3(path, "SELECT count(*) FROM sessions WHERE id < 4294967296;")
        #expect(legacy.standardOutput == "\(live.count)\n")
        let plan = try sqlite3(path, "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE token_hash = X'00' AND id < 4294967296;")
        #expect(plan.standardOutput.contains("sessions_legacy_token_idx"), "\(plan)")
        let newPlan = try sqlite3(path, "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE id = 5;")
        #expect(newPlan.standardOutput.contains("INTEGER PRIMARY KEY"), "\(newPlan)")
        #expect(try sqlite3(path, "SELECT count(*) FROM sessions;").standardOutput == "\(live.count + 1)\n")
        #expect(try sqlite3(path, "SELECT count(*) FROM active_sessions;").status == 0)
    }
}

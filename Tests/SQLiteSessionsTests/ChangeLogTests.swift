import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

@Suite("Change log")
struct ChangeLogTests {
    @Test func everyMutationIsLoggedWithItsKindInTheSameTransaction() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = ManualSessionClock()
        let store = try SQLiteSessionStore(
            path: directory.appendingPathComponent("s.sqlite").path,
            policy: SessionPolicy(expiration: .idle(.seconds(100)), touchInterval: .zero, clock: clock)
        )
        let start = try await store.lastChangeSequence()
        let a = try await store.create(userID: "alice")
        clock.advance(by: .seconds(1))
        _ = try await store.load(a.token)
        _ = try await store.save(a.session)
        let rotated = try #require(try await store.rotate(a.token))
        _ = try await store.touch(rotated.token, expiration: .idle(.seconds(50)))
        _ = try await store.delete(rotated.token)
        let b = try await store.create(userID: "bob")
        _ = try await store.deleteSessions(forUser: "bob")
        let c = try await store.create(expiration: .absolute(.seconds(1)))
        clock.advance(by: .seconds(2))
        _ = try await store.purgeExpired(limit: 10)

        let changes = try await store.changes(after: start)
        #expect(changes.map(\.kind) == [
            .created, .touched, .updated, .rotatedOut, .rotated, .updated, .deleted, .created, .revoked, .created, .expired,
        ])
        #expect(changes.allSatisfy { $0.origin == store.origin })
        #expect(changes.map(\.tokenHash) == [
            a.token.hash, a.token.hash, a.token.hash, a.token.hash, rotated.token.hash, rotated.token.hash,
            rotated.token.hash, b.token.hash, b.token.hash, c.token.hash, c.token.hash,
        ])
        #expect(Set(changes.prefix(7).map(\.sessionID)) == [a.session.id])
        #expect(changes.map(\.sequence) == changes.map(\.sequence).sorted())
        #expect(changes[8].userID == "bob")
        try await store.close()
    }

    @Test func writesMadeOutsideTheLibraryAreLoggedByTriggers() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path)
        let a = try await store.create(userID: "alice")
        let b = try await store.create(userID: "bob")
        let start = try await store.lastChangeSequence()
        let result = try sqlite3(path, """
            .timeout 5000
            UPDATE sessions SET user_id = 'mallory' WHERE token_hash = X'\(a.token.hash.hex)';
            DELETE FROM sessions WHERE token_hash = X'\(b.token.hash.hex)';
            """)
        #expect(result.status == 0, "\(result.standardError)")
        let changes = try await store.changes(after: start)
        #expect(changes.map(\.kind) == [.updated, .deleted])
        #expect(changes.map(\.tokenHash) == [a.token.hash, b.token.hash])
        #expect(changes.allSatisfy { $0.origin == nil })
        #expect(changes.first?.userID == "mallory")
        try await store.close()
    }

    @Test func purgeTrimsOldChangesButNotPastAReplicationCursor() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let clock = ManualSessionClock()
        let store = try SQLiteSessionStore(
            path: path,
            policy: SessionPolicy(expiration: .absolute(.seconds(10)), clock: clock),
            configuration: .init(changeLogRetention: .seconds(60))
        )
        for _ in 0..<20 { _ = try await store.create() }
        let cursorAt = try await store.lastChangeSequence() - 10
        #expect(try sqlite3(path, ".timeout 5000\nINSERT INTO replication_cursors VALUES ('test', \(cursorAt), 0);").status == 0)
        clock.advance(by: .seconds(61))
        #expect(try await store.purgeExpired(limit: 1000) == 20)
        let info = try await store.databaseInfo()
        // The 20 'created' entries are old: the 10 the cursor passed go, the rest stay, with the 20 new 'expired'.
        #expect(info.changeLogEntries == 30)
        #expect(try await store.changes(after: 0).first?.sequence == cursorAt + 1)
        try await store.close()
    }
}

import Foundation
import SessionTestSupport
import Sessions
@testable import SQLiteSessions
import Testing

/// The write path of schema 3: selectors as row ids, group transactions without savepoints,
/// purges that step aside.
@Suite("SQLite write path")
struct WritePathTests {
    static func makeStore(_ directory: URL, clock: ManualSessionClock = ManualSessionClock()) throws -> SQLiteSessionStore {
        try SQLiteSessionStore(
            path: directory.appendingPathComponent("s.sqlite").path,
            policy: SessionPolicy(clock: clock),
            configuration: .init(durability: .normal)
        )
    }

    @Test func aTokensSelectorIsItsRowsIdAndIdsAscend() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Self.makeStore(directory)
        var previous: Int64 = 0
        for _ in 0..<50 {
            let issued = try await store.create(userID: "u")
            #expect(issued.token.selector == issued.session.id)
            #expect(issued.session.id >= SessionSQL.legacyIDLimit)
            #expect(issued.session.id > previous)
            previous = issued.session.id
        }
        let issued = try await store.create()
        let rotated = try #require(try await store.rotate(issued.token))
        #expect(rotated.token.selector == issued.token.selector)
        #expect(rotated.token != issued.token)
        #expect(rotated.session.id == issued.session.id)
        try await store.close()
        let plan = try sqlite3(directory.appendingPathComponent("s.sqlite").path, "EXPLAIN QUERY PLAN \(SessionSQL.selectLiveByID.sql);")
        #expect(plan.standardOutput.contains("INTEGER PRIMARY KEY"), "\(plan)")
    }

    @Test func theRightSelectorWithAWrongSecretOpensNothing() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Self.makeStore(directory)
        let issued = try await store.create(userID: "alice", data: Data("secret".utf8))
        let forged = SessionToken.generate(selector: issued.token.selector)
        #expect(forged.selector == issued.token.selector)
        #expect(try await store.load(forged) == nil)
        #expect(try await store.timeToLive(forged) == nil)
        #expect(try await store.touch(forged) == nil)
        #expect(try await store.rotate(forged) == nil)
        #expect(try await store.delete(forged) == false)
        #expect(try await store.messages(for: forged, last: 1) == nil)
        await expectError(.notFound) { try await store.append(SessionMessageDraft(role: .user, content: "x"), to: forged) }
        #expect(try await store.load(issued.token)?.data == Data("secret".utf8))
        try await store.close()
    }

    @Test func twoStoresMintingInTheSameMillisecondNeverCollide() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // One frozen clock: both stores' selectors start from the same millisecond, so they
        // reach for the same ids and one must re-mint.
        let clock = ManualSessionClock()
        let first = try Self.makeStore(directory, clock: clock)
        let second = try Self.makeStore(directory, clock: clock)
        let issued = try await withThrowingTaskGroup(of: IssuedSession.self) { group in
            for index in 0..<200 {
                group.addTask { try await (index.isMultiple(of: 2) ? first : second).create(userID: "user\(index % 5)") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(issued.map(\.session.id)).count == 200)
        for session in issued {
            #expect(session.token.selector == session.session.id)
            #expect(try await first.load(session.token)?.id == session.session.id)
            #expect(try await second.load(session.token)?.id == session.session.id)
        }
        try await first.close()
        try await second.close()
    }

    @Test func aWriteThatFailsAfterChangingRowsRollsBackAloneInItsGroup() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Self.makeStore(directory)
        struct Refused: Error {}
        // Many concurrent writes share groups; every third writes a row and then fails.
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<60 {
                group.addTask {
                    do {
                        try await store.writer.write { connection throws(SessionStoreError) in
                            try connection.execute(
                                "INSERT INTO replication_cursors (name, seq, updated_at) VALUES ('c\(index)', \(index), 0)",
                                "writing a test row"
                            )
                            if index.isMultiple(of: 3) { throw SessionStoreError(.invalidArgument, "refused after writing") }
                        }
                        return (index, true)
                    } catch {
                        return (index, false)
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for index in 0..<60 { #expect(outcomes[index] == !index.isMultiple(of: 3)) }
        let stored = try await store.read { connection throws(SessionStoreError) in
            try connection.integer("SELECT count(*) FROM replication_cursors", "counting") ?? -1
        }
        #expect(stored == 40)
        #expect(try await store.replicationCursor("c3") == nil)
        #expect(try await store.replicationCursor("c4") == 4)
        try await store.close()
    }

    @Test func aPurgeBesideWritesDeletesExactlyTheExpiredAndLogsEachOnce() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = ManualSessionClock()
        let store = try Self.makeStore(directory, clock: clock)
        for index in 0..<3001 {
            _ = try await store.create(userID: "old\(index % 50)", expiration: .absolute(.seconds(60)))
        }
        let keep = try await store.create(userID: "kept", expiration: .absolute(.seconds(3600)))
        clock.advance(by: .seconds(61))
        async let purged = store.purgeExpired(limit: .max)
        var created: [SessionToken] = []
        for index in 0..<100 { created.append(try await store.create(userID: "new\(index)").token) }
        #expect(try await purged == 3001)
        #expect(try await store.purgeExpired(limit: 10) == 0)
        #expect(try await store.count(includeExpired: true) == 101)
        #expect(try await store.load(keep.token) != nil)
        for token in created { #expect(try await store.load(token) != nil) }
        let logged = try await store.read { connection throws(SessionStoreError) in
            try connection.integer("SELECT count(*) FROM session_changes WHERE kind = 'expired'", "counting") ?? -1
        }
        #expect(logged == 3001)
        // A limit is kept exactly, whatever the step size.
        for index in 0..<250 { _ = try await store.create(userID: "later\(index)", expiration: .absolute(.seconds(1))) }
        clock.advance(by: .seconds(2))
        #expect(try await store.purgeExpired(limit: 101) == 101)
        #expect(try await store.purgeExpired(limit: 1000) == 149)
        try await store.close()
    }
}

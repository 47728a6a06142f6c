import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

@Suite("Group commit and sharing a file")
struct GroupCommitTests {
    @Test func sixtyFourConcurrentCreatesShareFewCommits() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteSessionStore(path: directory.appendingPathComponent("s.sqlite").path, configuration: .init(durability: .full))
        let before = try #require(try await store.stats().writes)
        let issued = try await withThrowingTaskGroup(of: IssuedSession.self) { group in
            for index in 0..<64 {
                group.addTask { try await store.create(userID: "user\(index)", data: Data("\(index)".utf8)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let after = try #require(try await store.stats().writes)
        let transactions = after.transactions - before.transactions
        #expect(after.operations - before.operations == 64)
        #expect(transactions >= 1)
        #expect(transactions <= 16, "64 concurrent creates took \(transactions) commits")
        #expect(after.largestBatch > 1)
        for session in issued { #expect(try await store.exists(session.token)) }
        try await store.close()
    }

    @Test func twoStoresOnOneFileSeeEachOthersWrites() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let first = try SQLiteSessionStore(path: path)
        let second = try SQLiteSessionStore(path: path)
        #expect(first.origin != second.origin)

        let issued = try await first.create(userID: "shared", data: Data("from first".utf8))
        var session = try #require(try await second.load(issued.token))
        session.data = Data("from second".utf8)
        _ = try await second.save(session)
        #expect(try await first.load(issued.token)?.data == Data("from second".utf8))
        #expect(try await first.delete(issued.token))
        #expect(try await second.load(issued.token) == nil)
        await expectError(.notFound) { try await second.save(session) }
        try await first.close()
        try await second.close()
    }

    @Test func anotherProcessSeesOurWritesAndWeSeeItsWrites() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path)
        let issued = try await store.create(userID: "visible", data: Data(#"{"v":1}"#.utf8))

        // The sqlite3 shell is another process; it reads what the store committed.
        let hex = issued.token.hash.hex
        let seen = try sqlite3(path, "SELECT user_id, CAST(data AS TEXT) FROM sessions WHERE token_hash = X'\(hex)';")
        #expect(seen.standardOutput == "visible|{\"v\":1}\n")
        let active = try sqlite3(path, "SELECT count(*) FROM active_sessions WHERE token_hash = '\(hex)';")
        #expect(active.standardOutput == "1\n")

        // And the store reads what it committed.
        let update = try sqlite3(path, ".timeout 5000\nUPDATE sessions SET data = CAST('{\"v\":2}' AS BLOB) WHERE token_hash = X'\(hex)';")
        #expect(update.status == 0, "\(update.standardError)")
        #expect(try await store.load(issued.token)?.data == Data(#"{"v":2}"#.utf8))
        let delete = try sqlite3(path, ".timeout 5000\nDELETE FROM sessions WHERE token_hash = X'\(hex)';")
        #expect(delete.status == 0)
        #expect(try await store.load(issued.token) == nil)
        try await store.close()
    }
}

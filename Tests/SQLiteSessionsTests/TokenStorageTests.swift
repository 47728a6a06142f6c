import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

@Suite("Raw tokens never reach the disk")
struct TokenStorageTests {
    @Test func neitherTheTokenTextNorItsBytesAppearInAnyFile() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path)
        var tokens: [SessionToken] = []
        for index in 0..<50 {
            let issued = try await store.create(userID: "user\(index)", data: Data("payload \(index)".utf8))
            tokens.append(issued.token)
            if index.isMultiple(of: 5), let rotated = try await store.rotate(issued.token) { tokens.append(rotated.token) }
        }
        // Look at the live files (database, WAL) while the store is open, and again after close.
        for phase in ["open", "closed"] {
            if phase == "closed" { try await store.close() }
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(files.contains("s.sqlite"))
            var contents = Data()
            for file in files { contents += try Data(contentsOf: directory.appendingPathComponent(file)) }
            for token in tokens {
                let text = token.stringValue
                #expect(contents.range(of: Data(text.utf8)) == nil, "\(phase): token text found on disk")
                #expect(contents.range(of: Self.rawBytes(text)) == nil, "\(phase): token bytes found on disk")
                #expect(contents.range(of: Data(token.hash.bytes)) != nil || phase == "open", "the hash is what is stored")
            }
        }
    }

    /// The 32 bytes a token's text encodes.
    static func rawBytes(_ text: String) -> Data {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += "="
        return Data(base64Encoded: base64)!
    }
}

@Suite("Sweeper")
struct SweeperTests {
    @Test func sweepDeletesEveryExpiredSessionInChunks() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = ManualSessionClock()
        let store = try SQLiteSessionStore(
            path: directory.appendingPathComponent("s.sqlite").path,
            policy: SessionPolicy(expiration: .absolute(.seconds(60)), clock: clock)
        )
        let drafts = (0..<2500).map { SessionDraft(userID: "u\($0 % 10)", expiration: $0 < 2300 ? nil : .absolute(.seconds(3600))) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for draft in drafts { group.addTask { _ = try await store.create(draft) } }
            try await group.waitForAll()
        }
        clock.advance(by: .seconds(60))
        let before = try #require(try await store.stats().writes)
        let sweeper = SessionSweeper(store: store, configuration: .init(interval: .seconds(1), chunkSize: 1000))
        #expect(try await sweeper.sweep() == 2300)
        let after = try #require(try await store.stats().writes)
        #expect(after.transactions - before.transactions >= 3, "2300 rows in chunks of at most 1000")
        #expect(try await store.count(includeExpired: true) == 200)
        #expect(try await sweeper.sweep() == 0)
        try await store.close()
    }

    @Test func runSweepsPeriodicallyUntilCancelledAndZeroIntervalIsOff() async throws {
        let store = InMemorySessionStore(policy: SessionPolicy(expiration: .absolute(.milliseconds(1))))
        for _ in 0..<5 { _ = try await store.create() }
        try await Task.sleep(for: .milliseconds(5))
        let sweeper = SessionSweeper(store: store, configuration: .init(interval: .milliseconds(10)))
        let task = Task { try await sweeper.run() }
        var remaining = 5
        for _ in 0..<200 where remaining > 0 {
            try await Task.sleep(for: .milliseconds(10))
            remaining = try await store.count(includeExpired: true)
        }
        #expect(remaining == 0)
        task.cancel()
        try await task.value

        let off = Task { try await SessionSweeper(store: store, configuration: .init(interval: .zero)).run() }
        off.cancel()
        try await off.value
    }
}

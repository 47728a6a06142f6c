import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

@Suite("Cache coherence across processes")
struct CacheCoherenceTests {
    @Test func changesByAnotherProcessAreNotServedOnceTheBoundHasPassed() async throws {
        let peer = try product("session-test-peer")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let bound = Duration.milliseconds(250)
        let store = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path), configuration: .init(coherenceInterval: bound))

        var issued: [IssuedSession] = []
        for name in ["peer-delete", "peer-save", "raw-delete", "raw-update", "untouched"] {
            issued.append(try await store.create(userID: name, data: Data("original".utf8)))
        }
        for session in issued { #expect(try await store.load(session.token) != nil) }
        let hitsBefore = store.cacheStats.hits

        // Process 2: the library in another process, then the plain sqlite3 shell.
        #expect(try run(peer, ["delete", path, issued[0].token.stringValue]).standardOutput == "deleted\n")
        #expect(try run(peer, ["save", path, issued[1].token.stringValue, "saved by the peer"]).standardOutput == "2\n")
        let raw = try sqlite3(path, """
            .timeout 5000
            DELETE FROM sessions WHERE token_hash = X'\(issued[2].token.hash.hex)';
            UPDATE sessions SET data = CAST('updated in sqlite3' AS BLOB) WHERE token_hash = X'\(issued[3].token.hash.hex)';
            """)
        #expect(raw.status == 0, "\(raw.standardError)")

        // Every change above committed before this sleep began; after it, none may be served stale.
        try await Task.sleep(for: bound + .milliseconds(20))
        #expect(try await store.load(issued[0].token) == nil)
        #expect(try await store.load(issued[1].token)?.data == Data("saved by the peer".utf8))
        #expect(try await store.load(issued[2].token) == nil)
        #expect(try await store.load(issued[3].token)?.data == Data("updated in sqlite3".utf8))
        #expect(try await store.load(issued[4].token)?.data == Data("original".utf8))
        let stats = store.cacheStats
        #expect(stats.hits > hitsBefore, "the untouched session is still served from memory")
        #expect(stats.invalidations >= 4)
        try await store.close()
    }

    @Test func untilTheCheckTheCacheServesFromMemory() async throws {
        let peer = try product("session-test-peer")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try CachedSessionStore(
            wrapping: SQLiteSessionStore(path: path),
            configuration: .init(coherenceInterval: .seconds(3600))
        )
        let issued = try await store.create(userID: "u")
        #expect(try run(peer, ["delete", path, issued.token.stringValue]).standardOutput == "deleted\n")
        #expect(try await store.load(issued.token) != nil, "with an hour's interval the stale entry is still served")
        store.synchronize()
        #expect(try await store.load(issued.token) == nil)
        #expect(try await store.load(issued.token) == nil)
        #expect(store.cacheStats.negativeHits >= 1, "the deletion left a tombstone")
        try await store.close()
    }

    @Test func aTrimmedChangeLogClearsTheCache() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let clock = ManualSessionClock()
        let policy = SessionPolicy(expiration: .absolute(.seconds(7200)), clock: clock)
        let configuration = SQLiteSessionStore.Configuration(changeLogRetention: .seconds(60))
        let store = try CachedSessionStore(
            wrapping: SQLiteSessionStore(path: path, policy: policy, configuration: configuration),
            configuration: .init(coherenceInterval: .seconds(3600))
        )
        let other = try SQLiteSessionStore(path: path, policy: policy, configuration: configuration)
        let issued = try await store.create(data: Data("v1".utf8))
        _ = try await store.load(issued.token)
        var changed = try #require(try await other.load(issued.token))
        changed.data = Data("v2".utf8)
        _ = try await other.save(changed)
        clock.advance(by: .seconds(61))
        _ = try await other.purgeExpired(limit: 1000)  // trims the entry the cache has not read
        #expect(try await other.databaseInfo().changeLogEntries == 0)
        store.synchronize()
        #expect(store.cacheStats.flushes == 1)
        #expect(try await store.load(issued.token)?.data == Data("v2".utf8))
        try await other.close()
        try await store.close()
    }

    /// 1000 sessions, 100 reads each, all within one idle period: the reads write at most 1% as
    /// many rows, and at every step the persisted deadline stays ahead of the use.
    @Test func slidingReadsWriteAtMostOnePercentAndNothingExpiresInUse() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let clock = ManualSessionClock()
        let idle = Duration.seconds(1800)
        let policy = SessionPolicy(expiration: .idle(idle), clock: clock)  // touch interval: 60 s
        let backing = try SQLiteSessionStore(path: path, policy: policy, configuration: .init(durability: .normal))
        let store = try CachedSessionStore(wrapping: backing)
        var tokens: [SessionToken] = []
        for _ in 0..<1000 { tokens.append(try await store.create(data: Data("{}".utf8)).token) }
        clock.advance(by: .seconds(600))  // every stored last_seen_at is now 10 minutes old
        let start = try await backing.lastChangeSequence()

        var reads = 0
        for _ in 0..<100 {
            for token in tokens {
                let session = try #require(try await store.load(token), "a session expired while in use")
                #expect(session.expiresAt >= clock.now + idle - .seconds(60))
                reads += 1
            }
            clock.advance(by: .milliseconds(500))
        }
        await store.waitForPendingTouches()
        let written = try await backing.changes(after: start, limit: 1_000_000).count { $0.kind == .touched }
        #expect(reads == 100_000)
        #expect(written <= reads / 100, "\(written) rows written for \(reads) reads")
        #expect(written > 0, "the first use after ten idle minutes must be persisted")

        let observer = try SQLiteSessionStore(path: path, policy: policy)
        let persisted = try await observer.list(SessionQuery(includeExpired: true, limit: 2000)).sessions
        #expect(persisted.count == 1000)
        for session in persisted { #expect(session.expiresAt - clock.now > .seconds(60)) }
        try await observer.close()
        try await store.close()
    }

    /// Sessions read every 20 s for three idle periods: never expired, and the persisted deadline
    /// always more than one touch interval ahead of the latest use.
    @Test func persistedDeadlinesStayAheadOfUseOverManyIdlePeriods() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let clock = ManualSessionClock()
        let idle = Duration.seconds(600)
        let policy = SessionPolicy(expiration: .idle(idle), clock: clock)  // touch interval: 60 s
        let store = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path, policy: policy, configuration: .init(durability: .normal)))
        let observer = try SQLiteSessionStore(path: path, policy: policy)
        var tokens: [SessionToken] = []
        for _ in 0..<50 { tokens.append(try await store.create().token) }
        for round in 1...90 {
            clock.advance(by: .seconds(20))
            for token in tokens { #expect(try await store.load(token) != nil, "round \(round)") }
            await store.waitForPendingTouches()
            for session in try await observer.list(SessionQuery(includeExpired: true, limit: 100)).sessions {
                #expect(session.expiresAt - clock.now > .seconds(60), "round \(round)")
            }
        }
        try await observer.close()
        try await store.close()
    }

    /// Many tasks mixing loads, saves, deletes and rotations on overlapping sessions; afterwards the
    /// cache and the database agree about every token.
    @Test func underConcurrentMixedTrafficTheCacheAgreesWithTheDatabase() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let policy = SessionPolicy(expiration: .absolute(.seconds(3600)))
        let store = try CachedSessionStore(
            wrapping: SQLiteSessionStore(path: path, policy: policy, configuration: .init(durability: .normal)),
            configuration: .init(maxEntries: 64, shards: 4)
        )
        var tokens: [SessionToken] = []
        for index in 0..<100 { tokens.append(try await store.create(userID: "user\(index % 7)", data: Data("0".utf8)).token) }
        let shared = tokens
        let everyToken = try await withThrowingTaskGroup(of: [SessionToken].self) { group in
            for task in 0..<16 {
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    var seen: [SessionToken] = []
                    for step in 0..<300 {
                        let token = shared.randomElement(using: &generator)!
                        switch Int.random(in: 0..<20, using: &generator) {
                        case 0..<12:
                            _ = try await store.load(token)
                        case 12..<17:
                            if var session = try await store.load(token) {
                                session.data = Data("\(task)-\(step)".utf8)
                                _ = try? await store.save(session, expectedVersion: session.version)
                            }
                        case 17:
                            _ = try await store.delete(token)
                        case 18:
                            if let rotated = try await store.rotate(token) { seen.append(rotated.token) }
                        default:
                            _ = try await store.deleteSessions(forUser: "user\(step % 7)")
                        }
                    }
                    return seen
                }
            }
            return try await group.reduce(into: shared) { $0 += $1 }
        }
        #expect(store.cacheInvariantViolation() == nil)
        let observer = try SQLiteSessionStore(path: path, policy: policy)
        for token in everyToken {
            let cached = try await store.load(token)
            let stored = try await observer.load(token)
            #expect(cached?.data == stored?.data)
            #expect(cached?.version == stored?.version)
            #expect(cached?.userID == stored?.userID)
        }
        try await observer.close()
        try await store.close()
    }
}

import Foundation
import MetricsTestKit
@testable import Sessions
import Testing

@Suite("Cached store over memory")
struct CachedSessionStoreTests {
    let clock = ManualSessionClock()

    func makeStore(
        expiration: ExpirationPolicy = .absolute(.seconds(3600)),
        configuration: CachedSessionStore.Configuration = .init()
    ) throws -> (CachedSessionStore, InMemorySessionStore) {
        let backing = InMemorySessionStore(policy: SessionPolicy(expiration: expiration, clock: clock))
        return (try CachedSessionStore(wrapping: backing, configuration: configuration), backing)
    }

    @Test func hitsAreServedFromMemoryAndMissesReadThrough() async throws {
        let (store, backing) = try makeStore()
        let issued = try await backing.create(userID: "u", data: Data("d".utf8))
        #expect(try await store.load(issued.token)?.data == Data("d".utf8))
        for _ in 0..<10 { _ = try await store.load(issued.token) }
        let stats = store.cacheStats
        #expect(stats.misses == 1)
        #expect(stats.hits == 10)
        #expect(stats.entries == 1)
        #expect(stats.bytes == 2, "one byte of data and a one-byte user id")
        #expect(store.cacheInvariantViolation() == nil)
    }

    @Test func expiryIsCheckedOnHits() async throws {
        let (store, _) = try makeStore(expiration: .absolute(.seconds(10)))
        let issued = try await store.create()
        #expect(try await store.load(issued.token) != nil)
        clock.advance(by: .seconds(10))
        #expect(try await store.load(issued.token) == nil)
    }

    @Test func deletedTokensLeaveTombstonesThatCostNoBackingRead() async throws {
        let (store, _) = try makeStore()
        let issued = try await store.create()
        #expect(try await store.delete(issued.token))
        let before = store.cacheStats
        for _ in 0..<5 { #expect(try await store.load(issued.token) == nil) }
        let after = store.cacheStats
        #expect(after.negativeHits - before.negativeHits == 5)
        #expect(after.misses == before.misses)
    }

    @Test func unknownTokensAreRememberedBrieflyThenAskedAgain() async throws {
        let (store, backing) = try makeStore(configuration: .init(negativeTTL: .seconds(2)))
        let unknown = SessionToken.generate()
        for _ in 0..<20 { #expect(try await store.load(unknown) == nil) }
        #expect(store.cacheStats.misses == 1)
        #expect(store.cacheStats.negativeHits == 19)
        clock.advance(by: .seconds(2))
        _ = try await store.load(unknown)
        #expect(store.cacheStats.misses == 2)
        _ = backing
    }

    @Test func aSlowReadThroughCannotPutBackASessionDeletedMeanwhile() async throws {
        let cache = SessionCache(maxEntries: 100, maxBytes: 1 << 20, maxAbsent: 100, negativeTTL: .seconds(1), shards: 4)
        let backing = InMemorySessionStore(policy: SessionPolicy(clock: clock))
        let issued = try await backing.create(userID: "victim")
        let policy = backing.policy
        // A request misses and starts reading the session...
        guard case .miss(let epoch) = cache.lookup(issued.token.hash, now: clock.now, policy: policy) else {
            Issue.record("expected a miss")
            return
        }
        let stale = try await backing.load(issued.token)
        // ...meanwhile another request revokes it...
        _ = try await backing.delete(issued.token)
        cache.remove(issued.token.hash, gone: true)
        // ...and the slow request's result must not be cached.
        cache.fill(issued.token.hash, with: stale, epoch: epoch, now: clock.now)
        guard case .absent = cache.lookup(issued.token.hash, now: clock.now, policy: policy) else {
            Issue.record("a dead session was put back")
            return
        }
        #expect(cache.stats.fillsRejected == 1)
    }

    @Test func aStaleWriteResultDoesNotReplaceANewerVersion() throws {
        let cache = SessionCache(maxEntries: 100, maxBytes: 1 << 20, maxAbsent: 100, negativeTTL: .seconds(1), shards: 1)
        let token = SessionToken.generate()
        let v1 = Session.new(id: 1, token: token, draft: SessionDraft(data: Data("1".utf8)), policy: SessionPolicy(clock: clock), now: clock.now)
        var v2 = v1.with(version: 2)
        v2.data = Data("2".utf8)
        cache.store(v2, startedAt: cache.generation)
        cache.store(v1, startedAt: cache.generation)
        #expect(cache.peek(token.hash, now: clock.now)?.data == Data("2".utf8))
        cache.completeTouch(token.hash, with: v1.with(lastSeenAt: clock.now + .seconds(1)))
        #expect(cache.peek(token.hash, now: clock.now)?.version == 2)
    }

    @Test func aWriteThatRacedAnInvalidationOnlyEvicts() throws {
        let cache = SessionCache(maxEntries: 100, maxBytes: 1 << 20, maxAbsent: 100, negativeTTL: .seconds(1), shards: 4)
        let policy = SessionPolicy(clock: clock)
        let token = SessionToken.generate()
        let saved = Session.new(id: 1, token: token, draft: SessionDraft(userID: "mallory"), policy: policy, now: clock.now)
        // A save starts, then "log out everywhere" runs for the same user before the save returns.
        let generation = cache.generation
        cache.removeSessions(ofUser: "mallory")
        cache.store(saved, startedAt: generation)
        #expect(cache.peek(token.hash, now: clock.now) == nil)
        // A tombstoned token is never filled again, whatever the generation.
        cache.remove(token.hash, gone: true)
        cache.store(saved, startedAt: cache.generation)
        #expect(cache.peek(token.hash, now: clock.now) == nil)
        #expect(cache.isAbsent(token.hash, now: clock.now))
    }

    @Test func evictsByCountAndByBytes() async throws {
        let (byCount, _) = try makeStore(configuration: .init(maxEntries: 8, shards: 1))
        var tokens: [SessionToken] = []
        for _ in 0..<20 { tokens.append(try await byCount.create().token) }
        #expect(byCount.cacheStats.entries == 8)
        #expect(byCount.cacheStats.evictions == 12)
        for token in tokens { #expect(try await byCount.load(token) != nil, "evicted sessions read through") }
        #expect(byCount.cacheInvariantViolation() == nil)

        let (byBytes, _) = try makeStore(configuration: .init(maxEntries: 1000, maxBytes: 1000, shards: 1))
        for _ in 0..<10 { _ = try await byBytes.create(data: Data(repeating: 1, count: 300)) }
        #expect(byBytes.cacheStats.entries == 3)
        #expect(byBytes.cacheStats.bytes == 900)
        _ = try await byBytes.create(data: Data(repeating: 1, count: 5000))
        #expect(byBytes.cacheStats.entries == 3, "a session larger than the whole budget is not cached")
        #expect(byBytes.cacheInvariantViolation() == nil)
    }

    @Test func slidingUseExtendsInMemoryAndWritesBackOncePerInterval() async throws {
        let (store, backing) = try makeStore(expiration: .idle(.seconds(600)))
        let issued = try await store.create()
        var reads = 0
        // 60 s is the touch interval here (min(60 s, 600 s / 10)).
        for _ in 0..<300 {
            clock.advance(by: .seconds(1))
            let loaded = try #require(try await store.load(issued.token))
            #expect(loaded.lastSeenAt == clock.now, "the use counts at once, in memory")
            reads += 1
            await store.waitForPendingTouches()
        }
        let persisted = try #require(try await backing.stats().writes).touchesPersisted
        #expect(persisted >= 4 && persisted <= 5, "\(persisted) write-backs for 300 s of reads")
        let stored = try #require(try await backing.list(SessionQuery()).sessions.first)
        #expect(clock.now - stored.lastSeenAt < .seconds(61))
        #expect(store.cacheStats.touchesSkipped >= reads - 5)
    }

    @Test func metricsReachTheFactory() async throws {
        let metrics = TestMetrics()
        let (store, _) = try makeStore(configuration: .init(metricsPrefix: "test_cache", metricsFactory: metrics))
        let issued = try await store.create()
        for _ in 0..<3 { _ = try await store.load(issued.token) }
        _ = try await store.load(SessionToken.generate())
        _ = try await store.stats()
        #expect(try metrics.expectCounter("test_cache_hits_total").totalValue == 3)
        #expect(try metrics.expectCounter("test_cache_misses_total").totalValue == 1)
        #expect(try metrics.expectGauge("test_cache_entries").lastValue == 1)
    }

    @Test func writesReachTheBackingStoreBeforeMemory() async throws {
        let (store, backing) = try makeStore()
        let issued = try await store.create(data: Data("a".utf8))
        var session = issued.session
        session.data = Data(repeating: 0, count: 2 << 20)
        await #expect(throws: SessionStoreError.self) { try await store.save(session) }
        #expect(try await store.load(issued.token)?.data == Data("a".utf8), "a failed save changes nothing in memory")
        let rotated = try #require(try await store.rotate(issued.token))
        #expect(try await store.load(issued.token) == nil)
        #expect(try await backing.load(rotated.token) != nil)
        #expect(try await store.load(rotated.token) != nil)
        #expect(try await store.deleteSessions(forUser: "nobody") == 0)
    }
}

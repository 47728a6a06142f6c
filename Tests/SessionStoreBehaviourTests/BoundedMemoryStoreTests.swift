import Foundation
import Sessions
import SessionTestSupport
import Testing

/// The in-memory store holds at most `maxSessions` sessions and gives up the least recently used.
@Suite("Bounded in-memory store")
struct BoundedMemoryStoreTests {
    @Test func hasASensibleDefaultLimit() {
        #expect(InMemorySessionStore().maxSessions == InMemorySessionStore.defaultMaxSessions)
        #expect(InMemorySessionStore.defaultMaxSessions == 100_000)
    }

    @Test func aFloodOfLoginsStaysWithinTheLimitAndPushesOutTheLeastRecentlyUsed() async throws {
        let clock = ManualSessionClock(StoreHarness.fixedStart)
        let store = InMemorySessionStore(policy: SessionPolicy(clock: clock), maxSessions: 100)
        let stream = try store.events(bufferSize: 10_000, pollInterval: .milliseconds(5))
        var issued: [IssuedSession] = []
        for index in 0..<100 { issued.append(try await store.create(userID: "user\(index)")) }
        #expect(try await store.count() == 100)

        // Used since: the first ten are loaded, the next ten saved, the next ten given a message.
        for session in issued[0..<10] { #expect(try await store.load(session.token) != nil) }
        for session in issued[10..<20] {
            var loaded = try #require(try await store.load(session.token))
            loaded.data = Data(#"{"cart":1}"#.utf8)
            _ = try await store.save(loaded)
        }
        for session in issued[20..<30] { _ = try await store.append(SessionMessageDraft(role: .user, content: "hi"), to: session.token) }

        // A flood: 1,000 more logins.
        var pushedOut: [TokenHash] = []
        var flood: [IssuedSession] = []
        for index in 0..<1000 {
            let login = try await store.create(userID: "flood\(index)")
            pushedOut += login.evicted
            flood.append(login)
        }
        #expect(try await store.count(includeExpired: true) == 100, "the store never holds more than its limit")
        #expect(pushedOut.count == 1000, "every login beyond the limit pushed exactly one session out")
        // The least recently used went first: the 70 never used again, then the 30 used, in the order of use.
        let expectedOrder = (issued[30...] + issued[0..<30]).map(\.token.hash) + flood.prefix(900).map(\.token.hash)
        #expect(pushedOut == expectedOrder)
        for session in issued { #expect(try await store.load(session.token) == nil) }
        for session in flood.suffix(100) { #expect(try await store.exists(session.token)) }

        // 100 creations, 10 saves, 10 messages (uses within the touch interval log nothing),
        // 1,000 creations and 1,000 evictions.
        let events = try await SessionEventTests.take(100 + 10 + 10 + 2000, from: stream)
        let evicted = events.filter { $0.kind == .evicted }
        #expect(evicted.map(\.tokenHash) == expectedOrder, "each one is an evicted event")
        try await store.close()
    }

    @Test func aUseKeepsASessionAndAnExpiredOneGoesFirstAsExpired() async throws {
        let clock = ManualSessionClock(StoreHarness.fixedStart)
        let store = InMemorySessionStore(policy: SessionPolicy(expiration: .idle(.seconds(60)), clock: clock), maxSessions: 3)
        let short = try await store.create(userID: "a", expiration: .absolute(.seconds(1)))
        let kept = try await store.create(userID: "b")
        let idle = try await store.create(userID: "c")
        clock.advance(by: .seconds(2))
        _ = try await store.load(kept.token)
        let stream = try store.events(pollInterval: .milliseconds(5))

        let first = try await store.create(userID: "d")
        #expect(first.evicted == [short.token.hash], "the least recently used goes first; it had expired")
        let second = try await store.create(userID: "e")
        #expect(second.evicted == [idle.token.hash], "then the one not used since it was created")
        #expect(try await store.exists(kept.token), "loaded recently, so kept")
        let events = try await SessionEventTests.take(4, from: stream)
        #expect(events.map(\.kind) == [.expired, .created, .evicted, .created])
        try await store.close()
    }

    @Test func aCacheInFrontForgetsWhatTheStorePushedOut() async throws {
        let backing = InMemorySessionStore(maxSessions: 2)
        let store = try CachedSessionStore(wrapping: backing)
        let first = try await store.create(userID: "a")
        #expect(try await store.load(first.token) != nil)
        _ = try await store.create(userID: "b")
        let third = try await store.create(userID: "c")
        #expect(third.evicted == [first.token.hash])
        #expect(try await store.load(first.token) == nil, "the cache does not serve a session the store gave up")
        try await store.close()
    }
}

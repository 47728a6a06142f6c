import Foundation
import Sessions
import SessionTestSupport
import SQLiteSessions
import Testing

/// Session event streams, for every store that keeps a change log.
@Suite("Session events")
struct SessionEventTests {
    /// The next `count` events, or fails after 30 s.
    static func take(_ count: Int, from stream: SessionEventStream, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [SessionEvent] {
        let consumer = Task {
            var events: [SessionEvent] = []
            for try await event in stream {
                events.append(event)
                if events.count == count { break }
            }
            return events
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            consumer.cancel()
        }
        defer { watchdog.cancel() }
        let events = try await consumer.value
        #expect(events.count == count, "only \(events.count) of \(count) events arrived within 30 s", sourceLocation: sourceLocation)
        return events
    }

    @Test(arguments: StoreVariant.withEvents)
    func everyKindOfChangeBecomesOneEvent(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: {
            $0.expiration = .idle(.seconds(100))
            $0.touchInterval = .zero
            $0.maxSessionsPerUser = 2
        }) { harness throws in
            let store = harness.store
            let feed = try #require(store as? any SessionChangeFeed)
            let stream = try feed.events(pollInterval: .milliseconds(5))

            let a = try await store.create(userID: "u")
            harness.clock.advance(by: .seconds(1))
            var loaded = try #require(try await store.load(a.token))  // a persisted use
            if let cached = store as? CachedSessionStore { await cached.waitForPendingTouches() }
            loaded.data = Data("changed")
            _ = try await store.save(loaded)
            let r = try #require(try await store.rotate(a.token))
            let b = try await store.create(userID: "u")
            let c = try await store.create(userID: "u")  // evicts r, the oldest
            #expect(try await store.delete(b.token))
            let d = try await store.create(userID: "v")
            #expect(try await store.deleteSessions(forUser: "v") == 1)
            let e = try await store.create(expiration: .absolute(.seconds(1)))
            harness.clock.advance(by: .seconds(2))
            #expect(try await store.purgeExpired(limit: 10) == 1)

            let events = try await Self.take(12, from: stream)
            let expected: [(SessionEvent.Kind, TokenHash)] = [
                (.created, a.token.hash), (.touched, a.token.hash), (.updated, a.token.hash), (.rotated, r.token.hash),
                (.created, b.token.hash), (.evicted, r.token.hash), (.created, c.token.hash), (.deleted, b.token.hash),
                (.created, d.token.hash), (.revoked, d.token.hash), (.created, e.token.hash), (.expired, e.token.hash),
            ]
            #expect(events.map(\.kind) == expected.map(\.0))
            #expect(events.map(\.tokenHash) == expected.map(\.1))
            #expect(events[3].previousTokenHash == a.token.hash)
            #expect(events[3].sessionID == a.session.id)
            #expect(events.allSatisfy { $0.origin == feed.changeOrigin && $0.droppedBefore == 0 })
            #expect(events.map(\.sequence) == events.map(\.sequence).sorted())
            #expect(events[0].userID == "u" && events[9].userID == "v")
            #expect(stream.dropped == 0)
        }
    }

    @Test func eventsFromAnotherProcessArrive() async throws {
        let peer = try product("session-test-peer")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path))
        let stream = try store.events(pollInterval: .milliseconds(5))

        let created = try run(peer, ["create", path, "peer-user"])
        #expect(created.status == 0, "\(created)")
        let token = try SessionToken(created.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        let rotated = try SessionToken(try run(peer, ["rotate", path, token.stringValue]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        let raw = try sqlite3(path, ".timeout 5000\nUPDATE sessions SET data = CAST('edited in sqlite3' AS BLOB) WHERE token_hash = X'\(rotated.hash.hex)';")
        #expect(raw.status == 0, "\(raw)")
        #expect(try run(peer, ["delete", path, rotated.stringValue]).standardOutput == "deleted\n")

        let events = try await Self.take(4, from: stream)
        #expect(events.map(\.kind) == [.created, .rotated, .updated, .deleted])
        #expect(events[0].tokenHash == token.hash && events[0].userID == "peer-user")
        #expect(events[1].previousTokenHash == token.hash && events[1].tokenHash == rotated.hash)
        #expect(events[0].origin != nil && events[0].origin != store.changeOrigin, "made by the peer's store")
        #expect(events[2].origin == nil, "made outside the library")
        try await store.close()
    }

    @Test func aSlowConsumerLosesEventsButNeverBlocksTheStore() async throws {
        let store = InMemorySessionStore()
        let stream = try store.events(bufferSize: 4, pollInterval: .milliseconds(5))
        var issued: [IssuedSession] = []
        for _ in 0..<10 { issued.append(try await store.create()) }
        try await waitUntil("the stream to drop what did not fit") { stream.dropped == 6 }

        let first = try await Self.take(4, from: stream)
        #expect(first.map(\.tokenHash) == issued.prefix(4).map(\.token.hash))
        let later = try await store.create()
        let next = try await Self.take(1, from: stream)
        #expect(next.first?.tokenHash == later.token.hash)
        #expect(next.first?.droppedBefore == 6, "the first event after the gap says how much was lost")
        #expect(stream.dropped == 6)
    }

    @Test func finishingAStreamEndsItsIterationAndLeavesOtherStreamsRunning() async throws {
        let store = InMemorySessionStore()
        let finished = try store.events(pollInterval: .milliseconds(5))
        let other = try store.events(pollInterval: .milliseconds(5))
        let first = try await store.create()
        #expect(try await Self.take(1, from: finished).first?.tokenHash == first.token.hash)
        finished.finish()
        var after = 0
        for try await _ in finished { after += 1 }
        #expect(after == 0)
        let second = try await store.create()
        #expect(try await Self.take(2, from: other).map(\.tokenHash) == [first.token.hash, second.token.hash])
        await expectError(.invalidArgument) { try store.events(bufferSize: 0) }
    }
}

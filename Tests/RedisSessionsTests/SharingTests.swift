import Foundation
import LocalRedisServer
import RedisSessions
import SessionTestSupport
import Sessions
@testable import SQLiteSessions
import Testing

/// The rules of hosts that share sessions through one Redis, with each host's services driven
/// step by step (``RedisReplicator/catchUp()``, ``SessionStreamFollower/catchUp()``), so every
/// interleaving is the one the test chose. The suite with real processes and real outages is
/// `MultiHostTests`.
@Suite("Sharing sessions between hosts", .requiresRedis)
struct SharingTests {
    /// One host: its own file, a cache in front, and its replicator and follower, run by hand.
    struct Host {
        let name: String
        let primary: SQLiteSessionStore
        let replicated: ReplicatedSessionStore
        let store: CachedSessionStore

        init(_ name: String, directory: URL, prefix: String, policy: SessionPolicy = SessionPolicy(), streamLength: Int = 100_000) throws {
            self.name = name
            primary = try SQLiteSessionStore(path: directory.appendingPathComponent("\(name).sqlite").path, policy: policy)
            replicated = ReplicatedSessionStore(
                primary: primary,
                client: try RedisTestServer.client(),
                configuration: .init(name: name, keyPrefix: prefix, sharing: .init(streamLength: streamLength))
            )
            store = try CachedSessionStore(wrapping: replicated)
        }

        /// Sends this host's changes to Redis.
        func send() async throws { try await replicated.replicator.catchUp() }

        /// Applies what the other hosts sent.
        func receive() async throws { try await replicated.follower!.catchUp() }

        func close() async throws { try await store.close() }
    }

    /// Hosts `names` on one prefix; every host has received the (empty) start before `body`.
    static func withHosts(
        _ names: [String],
        policy: SessionPolicy = SessionPolicy(),
        streamLength: Int = 100_000,
        _ body: ([Host], String) async throws -> Void
    ) async throws {
        let directory = try makeTemporaryDirectory()
        let prefix = RedisTestServer.uniquePrefix()
        defer { try? FileManager.default.removeItem(at: directory) }
        let hosts = try names.map { try Host($0, directory: directory, prefix: prefix, policy: policy, streamLength: streamLength) }
        for host in hosts { try await host.receive() }
        do {
            try await body(hosts, prefix)
        } catch {
            for host in hosts { try? await host.close() }
            try? await RedisTestServer.deleteKeys(prefix: prefix)
            throw error
        }
        for host in hosts { try await host.close() }
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }

    /// Every host sends, then every host receives.
    static func exchange(_ hosts: [Host]) async throws {
        for host in hosts { try await host.send() }
        for host in hosts { try await host.receive() }
    }

    @Test func aChangeOnOneHostIsServedByEveryOther() async throws {
        try await Self.withHosts(["a", "b", "c"]) { hosts, _ in
            let (a, b, c) = (hosts[0], hosts[1], hosts[2])
            let login = try await a.store.create(userID: "alice", data: Data(#"{"cart":[]}"#.utf8))
            try await Self.exchange(hosts)
            #expect(try await b.store.load(login.token)?.userID == "alice")
            #expect(try await c.store.load(login.token)?.data == Data(#"{"cart":[]}"#.utf8))

            try await b.store.update(login.token) { $0.data = Data(#"{"cart":["book"]}"#.utf8) }
            try await Self.exchange(hosts)
            for host in [a, c] {
                #expect(try await host.store.load(login.token)?.data == Data(#"{"cart":["book"]}"#.utf8), "\(host.name) serves B's cart")
            }

            #expect(try await c.store.delete(login.token))
            try await Self.exchange(hosts)
            for host in hosts {
                #expect(try await host.store.load(login.token) == nil, "\(host.name) refuses a session logged out on C")
            }
        }
    }

    @Test func concurrentUpdatesOnTwoHostsLoseNothingWhileRedisAnswers() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            let session = try await a.store.create(userID: "carol", data: Data("0".utf8))
            try await Self.exchange(hosts)
            let rounds = 40
            // Each host's follower runs, as in production, while both hosts add to one counter.
            let followers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for host in hosts { group.addTask { try await host.replicated.follower!.run() } }
                    try await group.waitForAll()
                }
            }
            defer { followers.cancel() }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for host in [a, b] {
                    group.addTask {
                        var acknowledged = 0
                        for _ in 0..<rounds {
                            let stored = try await host.store.update(session.token, maxAttempts: 100) { stored in
                                let value = Int(String(decoding: stored.data, as: UTF8.self))!
                                stored.data = Data(String(value + 1).utf8)
                            }
                            if stored != nil { acknowledged += 1 }
                        }
                        return acknowledged
                    }
                }
                var total = 0
                for try await count in group { total += count }
                #expect(total == 2 * rounds)
            }
            followers.cancel()
            try await Self.exchange(hosts)
            for host in hosts {
                let stored = try #require(try await host.store.load(session.token))
                #expect(String(decoding: stored.data, as: UTF8.self) == String(2 * rounds), "\(host.name) holds every increment")
            }
        }
    }

    @Test func aTombstoneBeatsAChangeMadeOnAHostThatHadNotHeardOfTheLogout() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, prefix in
            let (a, b) = (hosts[0], hosts[1])
            let session = try await a.store.create(userID: "dave", data: Data("first".utf8))
            try await Self.exchange(hosts)
            // A is cut off: its save stays in its outbox (the link is down, so no compare-and-set).
            var loaded = try #require(try await a.primary.load(session.token))
            loaded.data = Data("written while cut off".utf8)
            _ = try await a.primary.save(loaded)
            // B logs the session out, and Redis hears of it first.
            #expect(try await b.store.delete(session.token))
            try await b.send()
            // A comes back: Redis refuses its change, and A ends the session too.
            try await a.send()
            try await a.receive()
            #expect(try await a.store.load(session.token) == nil)
            #expect(try await b.store.load(session.token) == nil)
            let record = try await RedisTestServer.client().send(RedisCommand("GET", .string(RedisSessionKeys(prefix: prefix).session(session.token.hash))))
            #expect(record.isNull, "Redis holds no copy of a deleted session")
        }
    }

    @Test func whileCutOffTheLaterClockWinsOnEveryHostAndTheLoserIsCounted() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            let session = try await a.store.create(data: Data("start".utf8))
            try await Self.exchange(hosts)
            // Both write locally without reaching Redis: B writes last.
            var onA = try #require(try await a.primary.load(session.token))
            onA.data = Data("from a".utf8)
            _ = try await a.primary.save(onA)
            try await Task.sleep(for: .milliseconds(5))
            var onB = try #require(try await b.primary.load(session.token))
            onB.data = Data("from b".utf8)
            _ = try await b.primary.save(onB)
            // A reconnects first, then B; then both hear everything.
            try await a.send()
            try await b.send()
            try await a.receive()
            try await b.receive()
            for host in hosts {
                #expect(try await host.store.load(session.token)?.data == Data("from b".utf8), "\(host.name) settled on the later write")
            }
            #expect(a.replicated.follower!.status.overwritten == 1, "A counts its lost change")
        }
    }

    @Test func aLogoutOnAHostTheSessionHadNotReachedYetStillEndsIt() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            let login = try await b.store.create(userID: "lena")
            try await b.send()
            // A has not read the stream yet; the logout finds the session in Redis.
            #expect(try await a.store.delete(login.token))
            try await Self.exchange(hosts)
            for host in hosts { #expect(try await host.store.load(login.token) == nil, "\(host.name) refuses it") }
        }
    }

    @Test func aLogoutRacingARotationOnAnotherHostEndsTheRotatedSessionToo() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            let session = try await a.store.create(userID: "mona")
            try await Self.exchange(hosts)
            // B logs the session out; before B's logout reaches Redis, A rotates the same token.
            #expect(try await b.store.delete(session.token))
            let rotated = try #require(try await a.store.rotate(session.token))
            try await Self.exchange(hosts)
            try await Self.exchange(hosts)
            for host in hosts {
                #expect(try await host.store.load(session.token) == nil)
                #expect(try await host.store.load(rotated.token) == nil, "\(host.name) serves the rotated session of a logged-out token")
            }
        }
    }

    @Test func anExpiryChangeOnOneHostKeepsAConcurrentSaveFromAnother() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            let session = try await a.store.create(data: Data("before".utf8))
            try await Self.exchange(hosts)
            try await b.store.update(session.token) { $0.data = Data("saved on b".utf8) }
            // A has not heard of B's save, and changes the session's expiry.
            _ = try await a.store.setExpiration(.idle(.seconds(900)), for: session.token)
            try await Self.exchange(hosts)
            for host in hosts {
                let stored = try #require(try await host.store.load(session.token))
                #expect(stored.data == Data("saved on b".utf8), "\(host.name) kept B's save")
                #expect(stored.deadlines.idleTimeout == .seconds(900), "\(host.name) has A's expiry")
            }
        }
    }

    @Test func everyHostKeepsAClockTagOfItsOwnInItsFile() async throws {
        try await Self.withHosts(["a", "b", "c"]) { hosts, _ in
            var tags: Set<Int64> = []
            for host in hosts {
                let kept = try await host.primary.hostTag(host.name)
                #expect(kept == host.replicated.follower?.status.hostTag)
                if let kept { tags.insert(kept) }
                let issued = try await host.store.create()
                #expect(HybridClock.hostTag(of: issued.token.selector) == kept, "selectors carry the host's tag")
            }
            #expect(tags.count == 3)
        }
    }

    @Test func logOutEverywhereReachesSessionsMadeOnOtherHosts() async throws {
        try await Self.withHosts(["a", "b", "c"]) { hosts, _ in
            var tokens: [SessionToken] = []
            for host in hosts { tokens.append(try await host.store.create(userID: "erin").token) }
            try await Self.exchange(hosts)
            #expect(try await hosts[1].store.deleteSessions(forUser: "erin") == 3)
            try await Self.exchange(hosts)
            for host in hosts {
                for token in tokens { #expect(try await host.store.load(token) == nil, "\(host.name) refuses every session of the user") }
            }
            // A session made after the logout lives on.
            let later = try await hosts[0].store.create(userID: "erin")
            try await Self.exchange(hosts)
            for host in hosts { #expect(try await host.store.load(later.token) != nil) }
        }
    }

    @Test func aSessionCreatedOnACutOffHostBeforeALogoutEverywhereDiesWhenItArrives() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            // A is cut off and makes a session for frank; then B logs frank out everywhere.
            let early = try await a.primary.create(userID: "frank")
            try await Task.sleep(for: .milliseconds(5))
            _ = try await b.store.deleteSessions(forUser: "frank")
            try await b.send()
            try await a.send()
            try await Self.exchange(hosts)
            #expect(try await a.store.load(early.token) == nil)
            #expect(try await b.store.load(early.token) == nil)
        }
    }

    @Test func rotationRenamesTheSessionEverywhereAndKeepsItsMessages() async throws {
        try await Self.withHosts(["a", "b"]) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            let session = try await a.store.create(data: Data("cart".utf8))
            _ = try await a.store.append(SessionMessageDraft(role: .user, content: "hello"), to: session.token)
            try await Self.exchange(hosts)
            #expect(try await b.store.messages(for: session.token, last: 10)?.map(\.content) == ["hello"])
            _ = try await b.store.append(SessionMessageDraft(role: .assistant, content: "hi there"), to: session.token)
            let rotated = try #require(try await b.store.rotate(session.token))
            try await Self.exchange(hosts)
            #expect(try await a.store.load(session.token) == nil, "the old token died on A too")
            #expect(try await a.store.load(rotated.token)?.data == Data("cart".utf8))
            #expect(try await a.store.messages(for: rotated.token, last: 10)?.map(\.content) == ["hello", "hi there"])
        }
    }

    @Test func aHostPastTheStreamsEndCopiesEverythingAgainAndConverges() async throws {
        try await Self.withHosts(["a", "b"], streamLength: 10) { hosts, _ in
            let (a, b) = (hosts[0], hosts[1])
            let doomed = try await a.store.create(userID: "gina")
            try await Self.exchange(hosts)
            // B stops reading while A makes far more changes than the stream keeps.
            var made: [SessionToken] = []
            for index in 0..<300 { made.append(try await a.store.create(data: Data("\(index)".utf8)).token) }
            _ = try await a.store.delete(doomed.token)
            try await a.send()
            try await b.receive()
            #expect(b.replicated.follower!.status.resyncs >= 2, "the first start and the gap")
            for token in made.suffix(20) { #expect(try await b.store.load(token) != nil) }
            #expect(try await b.store.load(doomed.token) == nil, "the resync brought the deletion too")
        }
    }
}

/// `WAIT`: a batch counts as sent only once the configured number of Redis replicas has it.
@Suite("Replication waits for Redis replicas", .requiresRedis)
struct ReplicaWaitTests {
    @Test func aBatchCountsOnlyOnceEnoughReplicasHaveIt() async throws {
        let primaryServer = try RedisServerProcess()
        let replicaServer = try RedisServerProcess(arguments: ["--replicaof", "127.0.0.1", String(primaryServer.port)])
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteSessionStore(path: directory.appendingPathComponent("w.sqlite").path)
        let client = try RedisClient(url: primaryServer.url)
        defer { client.close() }
        // Wait until the replica has attached and copied the primary.
        for _ in 0..<200 {
            let info = try await client.send(RedisCommand("INFO", "replication")).string ?? ""
            if info.contains("state=online") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let one = RedisReplicator(primary: store, client: client, configuration: .init(name: "one", waitForReplicas: 1))
        _ = try await store.create(userID: "kim")
        try await one.catchUp()
        #expect(await one.currentStatus().backlog == 0)
        let replica = try RedisClient(url: replicaServer.url)
        defer { replica.close() }
        #expect(try await replica.send(RedisCommand("GET", .string(RedisSessionKeys().replicationMarker("one")))).integer != nil)

        let two = RedisReplicator(primary: store, client: client, configuration: .init(name: "two", waitForReplicas: 2, replicaTimeout: .milliseconds(100)))
        await #expect {
            try await two.catchUp()
        } throws: { error in
            (error as? SessionStoreError)?.message.contains("1 of the 2 Redis replicas") == true
        }
        _ = try await store.create(userID: "kim")
        await #expect(throws: SessionStoreError.self) { try await two.catchUp() }
        #expect(await two.currentStatus().backlog > 0, "what two replicas do not have yet stays in the outbox")
        try await store.close()
    }
}

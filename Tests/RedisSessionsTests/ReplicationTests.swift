import ChildProcesses
import Foundation
import LocalRedisServer
import RedisSessions
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Replication to Redis", .requiresRedis)
struct ReplicationTests {
    /// Keeps creating, saving, rotating and deleting sessions until stopped; counts what succeeded.
    final class TrafficGenerator: Sendable {
        private let task: Task<Int, any Error>

        init(_ store: any SessionStore) {
            task = Task {
                var succeeded = 0
                var live: [SessionToken] = []
                var round = 0
                while !Task.isCancelled {
                    round += 1
                    let issued = try await store.create(userID: "user\(round % 13)", data: Data(#"{"round":\#(round)}"#.utf8))
                    live.append(issued.token)
                    succeeded += 1
                    if round.isMultiple(of: 3), var session = try await store.load(live[live.count / 2]) {
                        session.data = Data(#"{"saved":\#(round)}"#.utf8)
                        _ = try await store.save(session)
                        succeeded += 1
                    }
                    if round.isMultiple(of: 5) {
                        _ = try await store.delete(live.removeFirst())
                        succeeded += 1
                    }
                    if round.isMultiple(of: 11), let rotated = try await store.rotate(live.removeLast()) {
                        live.append(rotated.token)
                        succeeded += 1
                    }
                    if round.isMultiple(of: 97) {
                        _ = try await store.deleteSessions(forUser: "user\(round % 13)")
                        succeeded += 1
                    }
                    do { try await Task.sleep(for: .milliseconds(1)) } catch { break }
                }
                return succeeded
            }
        }

        /// Stops and returns how many operations succeeded.
        func stop() async throws -> Int {
            task.cancel()
            return try await task.value
        }
    }

    @Test func everyKindOfChangeReachesRedisAndRedisCLICanReadIt() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = RedisTestServer.uniquePrefix()
        // A day ahead of real time, so Redis (which expires keys by its own clock) never drops a
        // key this test still expects, however slowly the test runs.
        let clock = ManualSessionClock(SystemSessionClock().now + .seconds(86_400))
        let primary = try SQLiteSessionStore(
            path: directory.appendingPathComponent("s.sqlite").path,
            policy: SessionPolicy(expiration: .hybrid(idle: .seconds(600), absolute: .seconds(3600)), touchInterval: .zero, clock: clock)
        )
        let client = try RedisTestServer.client()
        let store = ReplicatedSessionStore(primary: primary, client: client, configuration: .init(name: "primary", keyPrefix: prefix))
        let keys = RedisSessionKeys(prefix: prefix)

        let alice = try await store.create(userID: "alice", data: Data(#"{"cart":[]}"#.utf8), metadata: ["device": "phone"])
        let bob = try await store.create(userID: "bob", data: Data("bob".utf8))
        let carol = try await store.create(userID: "carol", data: Data("carol".utf8))
        let short = try await store.create(data: Data("short".utf8), expiration: .absolute(.seconds(5)))
        try await store.replicator.catchUp()
        try await ReplicaCheck.expectMatches(primary, client: client, keys: keys, name: "primary")

        var session = try #require(try await store.load(alice.token))
        session.data = Data(#"{"cart":["book"]}"#.utf8)
        _ = try await store.save(session)
        clock.advance(by: .seconds(10))
        _ = try await store.touch(bob.token)
        let rotated = try #require(try await store.rotate(carol.token))
        _ = try await store.delete(bob.token)
        #expect(try await store.purgeExpired(limit: 10) == 1)
        try await store.replicator.catchUp()
        try await ReplicaCheck.expectMatches(primary, client: client, keys: keys, name: "primary")
        #expect(try await client.send(RedisCommand("EXISTS", .string(keys.session(carol.token.hash)))) == .integer(0))
        #expect(try await client.send(RedisCommand("EXISTS", .string(keys.session(short.token.hash)))) == .integer(0))

        // What the replica holds is plain JSON that redis-cli shows as it is.
        let configuration = try RedisTestServer.configuration()
        let cli = try run("redis-cli", ["-h", configuration.host, "-p", String(configuration.port), "-n", String(configuration.database),
                                        "--raw", "GET", keys.session(alice.token.hash)])
        let record = try JSONSerialization.jsonObject(with: Data(cli.standardOutput.utf8)) as? [String: Any]
        #expect(record?["user_id"] as? String == "alice")
        #expect(record?["data"] as? String == #"{"cart":["book"]}"#)
        #expect(record?["token_hash"] as? String == alice.token.hash.hex)
        #expect(!cli.standardOutput.contains(alice.token.stringValue), "only the hash reaches Redis")
        let members = try run("redis-cli", ["-h", configuration.host, "-p", String(configuration.port), "-n", String(configuration.database),
                                            "SMEMBERS", keys.userSessions("carol")])
        #expect(members.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == rotated.token.hash.hex)

        // A Redis-only store on another host reads what the replicator wrote.
        let reader = RedisSessionStore(client: try RedisTestServer.client(), policy: primary.policy, keys: keys)
        #expect(try await reader.load(rotated.token)?.data == Data("carol".utf8))
        #expect(try await reader.load(carol.token) == nil)
        try await reader.close()

        try await store.close()
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }

    @Test(arguments: [true, false])
    func keepsServingWhileRedisIsDownAndCatchesUpAfterward(restartKeepsData: Bool) async throws {
        let server = try RedisServerProcess(appendOnly: true)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var redisConfiguration = try RedisConfiguration(url: server.url)
        redisConfiguration.reconnectDelay = .milliseconds(20)
        redisConfiguration.maxReconnectDelay = .milliseconds(100)
        let client = RedisClient(configuration: redisConfiguration)
        let primary = try SQLiteSessionStore(path: directory.appendingPathComponent("s.sqlite").path, configuration: .init(durability: .normal))
        let store = ReplicatedSessionStore(
            primary: primary,
            client: client,
            configuration: .init(
                replication: .init(name: "edge", batchSize: 100, retryDelay: .milliseconds(20), maxRetryDelay: .milliseconds(100))
            )
        )
        let replicator = Task { try await store.replicator.run() }
        let traffic = TrafficGenerator(store)
        try await waitUntil { store.replicator.status.changesApplied > 50 }

        server.kill()
        try await waitUntil { !store.replicator.status.redisReachable }
        let before = try await primary.lastChangeSequence()
        try await waitUntil { try await primary.lastChangeSequence() > before + 100 }
        let health = await store.healthCheck()
        #expect(health.status == .degraded, "\(health)")
        #expect(store.replicator.status.backlog > 0)

        try server.restart(keepingData: restartKeepsData)
        try await waitUntil { store.replicator.status.redisReachable && store.replicator.status.backlog < 50 }
        let operations = try await traffic.stop()
        #expect(operations > 100, "writes went on during the outage")
        try await store.replicator.catchUp()
        try await ReplicaCheck.expectMatches(primary, client: client, keys: RedisSessionKeys(), name: "edge")
        if !restartKeepsData { #expect(store.replicator.status.resyncs >= 1, "an empty Redis was filled again") }
        #expect(await store.healthCheck().status == .healthy)
        replicator.cancel()
        _ = await replicator.result
        try await store.close()
    }

    @Test func aReplicatorKilledMidStreamResumesFromItsCursor() async throws {
        let peer = try product("session-test-peer")
        let redisURL = try #require(RedisTestServer.url)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let prefix = RedisTestServer.uniquePrefix()
        let primary = try SQLiteSessionStore(path: path, configuration: .init(durability: .normal))
        let traffic = TrafficGenerator(primary)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<6 {
            let process = try ChildProcess(peer, ["replicate", path, redisURL, "killed", prefix])
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...400, using: &generator)))
            process.signal(SIGKILL)
            _ = await process.exit()
        }
        let operations = try await traffic.stop()
        #expect(operations > 0, "changes flowed while replicators were being killed")
        let cursor = try #require(try await primary.replicationCursor("redis:killed"), "the replicator registered its cursor")
        #expect(cursor > 0)

        let client = try RedisTestServer.client()
        let replicator = RedisReplicator(primary: primary, client: client, configuration: .init(name: "killed", keys: RedisSessionKeys(prefix: prefix)))
        try await replicator.catchUp()
        #expect(replicator.status.resyncs == 0, "a restart resumes from the cursor, it does not start over")
        try await ReplicaCheck.expectMatches(primary, client: client, keys: RedisSessionKeys(prefix: prefix), name: "killed")
        client.close()
        try await primary.close()
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }

    @Test func readThroughAdoptsASessionCreatedOnAnotherHost() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = RedisTestServer.uniquePrefix()
        let hostA = ReplicatedSessionStore(
            primary: try SQLiteSessionStore(path: directory.appendingPathComponent("a.sqlite").path),
            client: try RedisTestServer.client(),
            configuration: .init(name: "a", keyPrefix: prefix, readThrough: true)
        )
        let hostB = ReplicatedSessionStore(
            primary: try SQLiteSessionStore(path: directory.appendingPathComponent("b.sqlite").path),
            client: try RedisTestServer.client(),
            configuration: .init(name: "b", keyPrefix: prefix, readThrough: true)
        )
        let issued = try await hostA.create(userID: "roaming", data: Data("from a".utf8))
        #expect(try await hostB.load(issued.token) == nil, "not replicated yet")
        try await hostA.replicator.catchUp()
        var adopted = try #require(try await hostB.load(issued.token))
        #expect(adopted.data == Data("from a".utf8))
        #expect(try await hostB.primary.storedSessions([issued.token.hash])[issued.token.hash] != nil, "adopted into B's file")

        adopted.data = Data("written on b".utf8)
        _ = try await hostB.save(adopted)
        try await hostB.replicator.catchUp()
        let redis = RedisSessionStore(client: try RedisTestServer.client(), keys: RedisSessionKeys(prefix: prefix))
        #expect(try await redis.load(issued.token)?.data == Data("written on b".utf8))

        #expect(try await hostB.deleteSessions(forUser: "roaming") >= 1)
        #expect(try await redis.load(issued.token) == nil, "a logout reaches Redis at once in read-through mode")
        try await redis.close()
        try await hostA.close()
        try await hostB.close()
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }
}

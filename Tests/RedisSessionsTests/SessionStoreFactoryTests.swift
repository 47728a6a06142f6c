import Foundation
import RedisSessions
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

@Suite("Configuration from the environment")
struct SessionStoreFactoryTests {
    @Test(arguments: [
        ("3600", Duration.seconds(3600)), ("90s", .seconds(90)), ("30m", .seconds(1800)), ("12h", .seconds(43_200)),
        ("7d", .seconds(604_800)), ("250ms", .milliseconds(250)), ("1h30m", .seconds(5400)), (" 2H ", .seconds(7200)),
    ])
    func durations(_ text: String, _ expected: Duration) throws {
        #expect(try DurationText.parse(text, name: "X") == expected)
    }

    @Test(arguments: ["", "abc", "10 minutes", "-5", "5w", "1.5h", "m30", "99999999999h"])
    func badDurationsAreExplained(_ text: String) {
        #expect {
            try DurationText.parse(text, name: "SESSION_TTL")
        } throws: { error in
            guard let error = error as? SessionStoreError else { return false }
            return error.code == .configurationError && error.message.contains("SESSION_TTL") && error.message.contains("30m")
        }
    }

    @Test func theDefaultIsACachedSQLiteFileWithASweeper() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("env.sqlite").path
        let setup = try SessionStoreFactory.make(environment: ["SESSION_DB": path, "SESSION_TTL": "20m", "SESSION_MAX_AGE": "8h"])
        #expect(setup.store is CachedSessionStore)
        #expect(setup.store.policy.expiration == .hybrid(idle: .seconds(1200), absolute: .seconds(28_800)))
        #expect(setup.services.count == 2)
        #expect(setup.services.first is SessionStoreCloser)
        #expect(setup.services.contains { $0 is SessionSweeper })
        #expect(setup.summary.contains(path))
        let issued = try await setup.store.create(userID: "env")
        #expect(try await setup.store.load(issued.token) != nil)
        try await setup.store.close()
        #expect(FileManager.default.fileExists(atPath: path))

        let uncached = try SessionStoreFactory.make(environment: ["SESSION_DB": path, "SESSION_CACHE": "false", "SESSION_DURABILITY": "normal"])
        #expect(uncached.store is SQLiteSessionStore)
        #expect((uncached.store as? SQLiteSessionStore)?.configuration.durability == .normal)
        try await uncached.store.close()
    }

    @Test(.requiresRedis)
    func redisOnlyAndReplicated() async throws {
        let url = try #require(RedisTestServer.url)
        let prefix = RedisTestServer.uniquePrefix()
        let redis = try SessionStoreFactory.make(environment: ["USE_REDIS": "true", "REDIS_URL": url, "SESSION_KEY_PREFIX": prefix], plugins: [.redis])
        #expect(redis.store is RedisSessionStore)
        let issued = try await redis.store.create()
        #expect(try await redis.store.exists(issued.token))
        try await redis.store.close()

        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let replicated = try SessionStoreFactory.make(environment: [
            "SESSION_DB": directory.appendingPathComponent("r.sqlite").path, "SESSION_REPLICATE_TO": url,
            "SESSION_KEY_PREFIX": prefix, "SESSION_REPLICA_NAME": "env-test", "SESSION_CACHE": "no",
        ], plugins: [.redis])
        #expect(replicated.store is ReplicatedSessionStore)
        #expect(replicated.services.contains { $0 is RedisReplicator })
        #expect(replicated.summary.contains("env-test"))
        #expect(!replicated.services.contains { $0 is SessionStreamFollower })
        try await replicated.store.close()

        let shared = try SessionStoreFactory.make(environment: [
            "SESSION_DB": directory.appendingPathComponent("s.sqlite").path, "SESSION_REPLICATE_TO": url,
            "SESSION_KEY_PREFIX": prefix, "SESSION_REPLICA_NAME": "env-shared", "SESSION_SYNC": "true",
            "SESSION_SYNC_WHEN_STALE": "refuse", "SESSION_SYNC_STALE_AFTER": "10s", "SESSION_REPLICA_WAIT": "0",
        ], plugins: [.redis])
        #expect(shared.store is CachedSessionStore, "the cache stays in front, kept coherent by the stream")
        let sharing = try #require(((shared.store as? CachedSessionStore)?.backing as? ReplicatedSessionStore)?.configuration)
        #expect(sharing.sharing?.whenStale == .refuse)
        #expect(sharing.sharing?.staleAfter == .seconds(10))
        #expect(sharing.readThrough, "sharing reads through by default")
        #expect(shared.services.contains { $0 is SessionStreamFollower })
        #expect(shared.summary.contains("sharing"))
        try await shared.store.close()
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }

    @Test(arguments: [
        (["USE_REDIS": "true"], "REDIS_URL"),
        (["USE_REDIS": "maybe"], "true or false"),
        (["USE_REDIS": "1", "REDIS_URL": "redis://h", "SESSION_REPLICATE_TO": "redis://h"], "choose"),
        (["SESSION_REPLICATE_TO": "rediss://h:6380"], "TLS"),
        (["USE_REDIS": "yes", "REDIS_URL": "redis://h:xyz"], "REDIS_URL"),
        (["SESSION_TTL": "soon"], "SESSION_TTL"),
        (["SESSION_TTL": "0"], "at least 1 ms"),
        (["SESSION_DURABILITY": "paranoid"], "full or normal"),
        (["SESSION_SWEEP_INTERVAL": "often"], "SESSION_SWEEP_INTERVAL"),
        (["SESSION_SYNC": "true"], "SESSION_REPLICATE_TO"),
        (["SESSION_SYNC": "true", "SESSION_REPLICATE_TO": "redis://h", "SESSION_SYNC_WHEN_STALE": "panic"], "serve or refuse"),
        (["SESSION_SYNC": "true", "SESSION_REPLICATE_TO": "redis://h", "SESSION_SYNC_STALE_AFTER": "later"], "SESSION_SYNC_STALE_AFTER"),
        (["SESSION_SYNC": "true", "SESSION_REPLICATE_TO": "redis://h", "SESSION_SYNC_STREAM_LENGTH": "0"], "SESSION_SYNC_STREAM_LENGTH"),
        (["SESSION_REPLICATE_TO": "redis://h", "SESSION_REPLICA_WAIT": "-1"], "SESSION_REPLICA_WAIT"),
    ])
    func badValuesAreExplained(_ environment: [String: String], _ mention: String) {
        #expect {
            try SessionStoreFactory.make(environment: environment.merging(["SESSION_DB": "/nonexistent-dir/x.sqlite"]) { $1 }, plugins: [.redis])
        } throws: { error in
            guard let error = error as? SessionStoreError else { return false }
            return error.code == .configurationError && error.message.contains(mention)
        }
    }
}

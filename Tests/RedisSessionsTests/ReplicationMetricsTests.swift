import Foundation
import InMemoryTracing
import LocalRedisServer
import MetricsTestKit
import RedisSessions
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing
import Tracing

/// What replication and the Redis client publish: metrics with the replica's name, a span per batch.
@Suite("Replication metrics and spans", .requiresRedis)
struct ReplicationMetricsTests {
    @Test func changesLagBacklogFailuresAndReconnectsAreCounted() async throws {
        let server = try RedisServerProcess()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let metrics = TestMetrics()
        let tracer = InMemoryTracer()
        let primary = try SQLiteSessionStore(path: directory.appendingPathComponent("s.sqlite").path, configuration: .init(durability: .normal))
        // One connection: the reconnect is then always that connection's, whichever slot a
        // round-robin pool would have picked.
        var redis = try RedisConfiguration(url: server.url)
        redis.connections = 1
        let client = RedisClient(configuration: redis, metricsFactory: metrics)
        let replicator = RedisReplicator(
            primary: primary,
            client: client,
            configuration: .init(name: "edge-1", retryDelay: .milliseconds(10), metricsFactory: metrics, tracer: tracer)
        )
        let replica = [("replica", "edge-1")]
        try await replicator.catchUp()
        for index in 0..<5 { _ = try await primary.create(userID: "u\(index)") }
        #expect(await replicator.currentStatus().backlog == 5)
        #expect(try metrics.expectGauge("sessions_replication_backlog", replica).lastValue == 5)
        try await replicator.catchUp()

        #expect(try metrics.expectCounter("sessions_replication_changes_total", replica).totalValue == 5)
        #expect(try metrics.expectTimer("sessions_replication_lag_seconds", replica).values.count == 5)
        #expect(try metrics.expectGauge("sessions_replication_backlog", replica).lastValue == 0)
        #expect(try metrics.expectCounter("sessions_replication_resyncs_total", replica).totalValue == 1, "the first start copies what exists")
        let batch = try #require(tracer.finishedSpans.last { $0.operationName == "sessions.replicate" })
        #expect(batch.attributes["sessions.changes"]?.toSpanAttribute() == .int64(5))
        #expect(batch.attributes["sessions.store"]?.toSpanAttribute() == .string("replicated"))

        // Redis goes away: the attempts fail and are counted, then it comes back.
        server.kill()
        _ = try await primary.create(userID: "offline")
        await #expect(throws: (any Error).self) { try await replicator.replicateOnce() }
        await #expect(throws: SessionStoreError.self) { try await client.send(RedisCommand("PING")) }
        let failures = metrics.counters.filter { $0.label == "sessions_redis_command_failures_total" }.reduce(0) { $0 + $1.totalValue }
        #expect(failures >= 2)
        #expect(try metrics.expectCounter("sessions_redis_connect_failures_total").totalValue >= 1)

        try server.restart(keepingData: true)
        client.retryNow()
        try await replicator.catchUp()
        #expect(try metrics.expectCounter("sessions_redis_reconnects_total").totalValue >= 1)
        #expect(
            try metrics.expectCounter("sessions_replication_resyncs_total", replica).totalValue == 2,
            "Redis came back empty (it has no persistence here): everything is copied again"
        )
        #expect(await replicator.currentStatus().backlog == 0)
        #expect(try metrics.expectGauge("sessions_replication_backlog", replica).lastValue == 0)
        client.close()
        try await primary.close()
    }

    @Test func theServiceLoopCountsFailures() async throws {
        let server = try RedisServerProcess()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let metrics = TestMetrics()
        let primary = try SQLiteSessionStore(path: directory.appendingPathComponent("s.sqlite").path, configuration: .init(durability: .normal))
        let replicator = RedisReplicator(
            primary: primary,
            client: RedisClient(configuration: try RedisConfiguration(url: server.url)),
            configuration: .init(name: "loop", retryDelay: .milliseconds(5), maxRetryDelay: .milliseconds(20), metricsFactory: metrics)
        )
        server.kill()
        let running = Task { try await replicator.run() }
        try await waitUntil { (try? metrics.expectCounter("sessions_replication_failures_total", [("replica", "loop")]).totalValue) ?? 0 >= 2 }
        running.cancel()
        _ = try? await running.value
        replicator.client.close()
        try await primary.close()
    }
}

import Foundation
import LocalRedisServer
import RedisSessions
import Sessions
import SQLiteSessions

/// The Redis peer: the Redis store against a real redis-server (AOF `always` and `everysec`),
/// and replication of the SQLite store to Redis (lag at a steady write rate, catch-up after an outage).
struct RedisWorkloads {
    let options: BenchmarkOptions

    func run(into results: inout [BenchmarkResult]) async throws {
        guard options.includes("redis") || options.includes("replication") else { return }
        for fsync in ["always", "everysec"] where options.includes("redis") {
            let server = try RedisServerProcess(appendOnly: true, appendFsync: fsync)
            defer { server.stop() }
            try await measureStore(on: server, label: "redis aof=\(fsync)", into: &results)
        }
        if options.includes("replication") {
            let server = try RedisServerProcess(appendOnly: true, appendFsync: "everysec")
            defer { server.stop() }
            try await measureReplication(to: server, into: &results)
        }
    }

    private func measureStore(on server: RedisServerProcess, label: String, into results: inout [BenchmarkResult]) async throws {
        let store = RedisSessionStore(
            client: RedisClient(configuration: .init(port: server.port, connections: 4)),
            policy: SessionPolicy(expiration: .absolute(.seconds(24 * 3600)))
        )
        let payload = options.payload
        for concurrency in [1, 64] {
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, _ in
                _ = try await store.create(userID: "user\(task)", data: payload)
            }
            results.append(BenchmarkResult(
                workload: "create", store: label, concurrency: concurrency,
                operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies
            ))
            options.report(results.last!)
        }
        let tokens = try await SQLiteWorkloads(options: options).prefill(store, count: min(options.sessions, 20_000)).map(\.token)
        for concurrency in [1, 64] {
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, iteration in
                guard try await store.load(tokens[(task &* 104_729 &+ iteration &* 7919) % tokens.count]) != nil else {
                    throw BenchmarkFailure("a Redis session did not load")
                }
            }
            results.append(BenchmarkResult(
                workload: "load", store: label, concurrency: concurrency,
                operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
                note: "\(tokens.count) sessions"
            ))
            options.report(results.last!)
        }
        try await store.close()
    }

    private func measureReplication(to server: RedisServerProcess, into results: inout [BenchmarkResult]) async throws {
        let directory = try options.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let primary = try SQLiteSessionStore(path: directory.appendingPathComponent("bench.sqlite").path)
        let client = RedisClient(configuration: .init(port: server.port))
        let replicator = RedisReplicator(primary: primary, client: client, configuration: .init(name: "bench"))
        let payload = options.payload

        // Lag at a steady rate: 1000 creates a second from 8 tasks, the replicator running.
        let running = Task { try await replicator.run() }
        let rate = 1000
        let steady = try await Measurement.run(concurrency: 8, duration: options.duration) { task, _ in
            let started = ContinuousClock.now
            _ = try await primary.create(userID: "user\(task)", data: payload)
            try await Task.sleep(until: started + .milliseconds(8000 / rate), clock: .continuous)
        }
        try await replicator.catchUp()
        let status = replicator.status
        running.cancel()
        _ = await running.result
        results.append(BenchmarkResult(
            workload: "replication lag", store: "sqlite→redis", concurrency: 8,
            operations: steady.operations, elapsed: steady.elapsed, latencies: steady.latencies,
            note: "lag p50 \(status.lagP50.map { "\($0.wholeMilliseconds)" } ?? "-") ms, p99 \(status.lagP99.map { "\($0.wholeMilliseconds)" } ?? "-") ms at ~\(rate)/s"
        ))
        options.report(results.last!)

        // Catch-up: changes made while nothing replicates, then one replicator drains them.
        let backlog = options.sessions
        _ = try await SQLiteWorkloads(options: options).prefill(primary, count: backlog)
        let before = replicator.status.changesApplied
        let start = ContinuousClock.now
        try await replicator.catchUp()
        let elapsed = ContinuousClock.now - start
        var latencies = LatencyRecorder(capacity: 1)
        latencies.record(elapsed)
        results.append(BenchmarkResult(
            workload: "replication catch-up", store: "sqlite→redis", concurrency: 1,
            operations: replicator.status.changesApplied - before, elapsed: elapsed, latencies: latencies,
            note: "changes/s after an outage of \(backlog) creates"
        ))
        options.report(results.last!)
        client.close()
        try await primary.close()
    }
}

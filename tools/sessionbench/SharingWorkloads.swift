import Foundation
import LocalRedisServer
import RedisSessions
import Sessions
import SQLiteSessions
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Several hosts sharing sessions through one Redis (`SESSION_SYNC`): two hosts in this process,
/// each with its own SQLite file, cache, replicator and stream follower running as in an app,
/// on a private redis-server (AOF `everysec`).
///
/// - revocation: from `delete` returning on host A to host B (which had the session in its
///   cache) refusing the token;
/// - update: from a save returning on A to B serving the new data;
/// - the cached load hit on a host with the stream on, against a cache over a SQLite file alone;
/// - create, 64 concurrent, `.full`, with the stream on against replication alone;
/// - catch-up: changes applied per second by a host whose follower was stopped while the other
///   host made them;
/// - an outage: traffic on both hosts while Redis is frozen, then the time from Redis answering
///   again to both hosts and Redis agreeing.
struct SharingWorkloads {
    let options: BenchmarkOptions

    /// One host: its file, its store as the factory builds it, its services.
    final class Host: Sendable {
        let primary: SQLiteSessionStore
        let replicated: ReplicatedSessionStore
        let store: CachedSessionStore
        private let services = Mutex<Task<Void, Never>?>(nil)

        init(_ name: String, directory: URL, redisPort: Int, sharing: Bool) throws {
            primary = try SQLiteSessionStore(path: directory.appendingPathComponent("\(name).sqlite").path)
            replicated = ReplicatedSessionStore(
                primary: primary,
                client: RedisClient(configuration: .init(port: redisPort, connections: 4)),
                // Long enough for the catch-up row to read its backlog from the stream.
                configuration: .init(name: name, sharing: sharing ? .init(streamLength: 1_000_000) : nil)
            )
            store = try CachedSessionStore(wrapping: replicated)
            start()
        }

        /// Runs the replicator and the follower, as the app's ServiceGroup would.
        func start() {
            let replicated = self.replicated
            services.withLock { running in
                running = Task {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { try? await replicated.replicator.run() }
                        if let follower = replicated.follower { group.addTask { try? await follower.run() } }
                    }
                }
            }
        }

        /// Stops the replicator and the follower.
        func stop() async {
            guard let running = services.withLock({ running in defer { running = nil }; return running }) else { return }
            running.cancel()
            await running.value
        }

        func close() async throws {
            await stop()
            try await store.close()
        }
    }

    func run(into results: inout [BenchmarkResult]) async throws {
        guard options.includes("hosts") || options.includes("sharing") else { return }
        let server = try RedisServerProcess(appendOnly: true, appendFsync: "everysec")
        defer { server.stop() }
        let directory = try options.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = try Host("a", directory: directory, redisPort: server.port, sharing: true)
        let b = try Host("b", directory: directory, redisPort: server.port, sharing: true)
        emit("  several hosts: two hosts on one Redis")
        try await measureRevocation(a, b, into: &results)
        try await measureUpdates(a, b, into: &results)
        try await measureHits(b, directory: directory, redisPort: server.port, into: &results)
        // In production the other host is another machine: here it would take this one's CPU.
        await b.stop()
        try await measureCreates(a, directory: directory, redisPort: server.port, into: &results)
        try await measureCatchUp(a, b, into: &results)
        try await measureOutage(a, b, server: server, into: &results)
        try await a.close()
        try await b.close()
    }

    private var samples: Int { options.quick ? 30 : 500 }

    /// Polls `condition` until it holds, yielding between tries; gives up after `limit`.
    private func poll(limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        while !(try await condition()) {
            guard clock.now - start < limit else { throw BenchmarkFailure("a change did not reach the other host within \(limit)") }
            await Task.yield()
        }
        return clock.now - start
    }

    private func measureRevocation(_ a: Host, _ b: Host, into results: inout [BenchmarkResult]) async throws {
        var latencies = LatencyRecorder(capacity: samples)
        let started = ContinuousClock.now
        for index in 0..<samples {
            let issued = try await a.store.create(userID: "r\(index % 50)", data: options.payload)
            _ = try await poll { try await b.store.load(issued.token) != nil }
            _ = try await a.store.delete(issued.token)
            latencies.record(try await poll { try await b.store.load(issued.token) == nil })
        }
        results.append(BenchmarkResult(
            workload: "revocation across hosts", store: "sqlite+redis stream", concurrency: 1,
            operations: samples, elapsed: ContinuousClock.now - started, latencies: latencies,
            note: "delete returned on A → B refuses the token (B had it cached)"
        ))
        options.report(results.last!)
    }

    private func measureUpdates(_ a: Host, _ b: Host, into results: inout [BenchmarkResult]) async throws {
        var latencies = LatencyRecorder(capacity: samples)
        let issued = try await a.store.create(data: Data("0".utf8))
        _ = try await poll { try await b.store.load(issued.token) != nil }
        let started = ContinuousClock.now
        for index in 1...samples {
            let data = Data("\(index)".utf8)
            try await a.store.update(issued.token) { $0.data = data }
            latencies.record(try await poll { try await b.store.load(issued.token)?.data == data })
        }
        results.append(BenchmarkResult(
            workload: "update across hosts", store: "sqlite+redis stream", concurrency: 1,
            operations: samples, elapsed: ContinuousClock.now - started, latencies: latencies,
            note: "save returned on A → B serves the new data"
        ))
        options.report(results.last!)
    }

    private func measureHits(_ b: Host, directory: URL, redisPort: Int, into results: inout [BenchmarkResult]) async throws {
        let alone = try CachedSessionStore(wrapping: SQLiteSessionStore(path: directory.appendingPathComponent("alone.sqlite").path))
        var tokens: [String: [SessionToken]] = [:]
        for (label, store) in [("cached, stream off", alone), ("cached, stream on", b.store)] {
            tokens[label] = try await SQLiteWorkloads(options: options).prefill(store, count: min(options.sessions, 10_000)).map(\.token)
            for token in tokens[label]! { _ = try await store.load(token) }
        }
        // Measured once the host has sent and heard back everything: the rest is its steady state.
        try await settle([b], redisPort: redisPort)
        // Alternating, best of two each: the two rows see the same machine.
        var best: [String: BenchmarkResult] = [:]
        for _ in 0..<2 {
            for (label, store) in [("cached, stream off", alone), ("cached, stream on", b.store)] {
                let keys = tokens[label]!
                let outcome = try await Measurement.run(concurrency: 1, duration: options.duration, sampleEvery: 64) { _, iteration in
                    guard try await store.load(keys[(iteration &* 7919) % keys.count]) != nil else { throw BenchmarkFailure("a cached session did not load") }
                }
                let result = BenchmarkResult(
                    workload: "host load hit", store: label, concurrency: 1,
                    operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies
                )
                if result.opsPerSecond > best[label]?.opsPerSecond ?? 0 { best[label] = result }
            }
        }
        for label in ["cached, stream off", "cached, stream on"] {
            results.append(best[label]!)
            options.report(results.last!)
        }
        try await alone.close()
    }

    /// Waits until `hosts` have nothing left to send and have read the stream to its end.
    private func settle(_ hosts: [Host], redisPort: Int, limit: Duration = .seconds(120)) async throws {
        let client = RedisClient(configuration: .init(port: redisPort))
        defer { client.close() }
        _ = try await poll(limit: limit) {
            for host in hosts {
                guard await host.replicated.replicator.currentStatus().backlog == 0 else { return false }
            }
            let end = try await client.send(RedisCommand("GET", .string(RedisSessionKeys().changeSequence))).integer ?? 0
            return hosts.allSatisfy { host in host.replicated.follower.map { $0.status.sequence >= end } ?? true }
        }
    }

    private func measureCreates(_ a: Host, directory: URL, redisPort: Int, into results: inout [BenchmarkResult]) async throws {
        let replicationOnly = try Host("replication-only", directory: directory, redisPort: redisPort, sharing: false)
        let payload = options.payload
        // Alternating, best of two each, every round from a host that has sent everything.
        var best: [String: BenchmarkResult] = [:]
        for _ in 0..<2 {
            for (label, host) in [("replication alone", replicationOnly), ("stream on", a)] {
                try await settle([host], redisPort: redisPort)
                let outcome = try await Measurement.run(concurrency: 64, duration: options.duration) { task, _ in
                    _ = try await host.store.create(userID: "c\(task)", data: payload)
                }
                let result = BenchmarkResult(
                    workload: "host create", store: label, concurrency: 64, durability: "full",
                    operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
                    note: "the other host stopped: in production it is another machine"
                )
                if result.opsPerSecond > best[label]?.opsPerSecond ?? 0 { best[label] = result }
            }
        }
        for label in ["replication alone", "stream on"] {
            results.append(best[label]!)
            options.report(results.last!)
        }
        try await replicationOnly.close()
    }

    private func measureCatchUp(_ a: Host, _ b: Host, into results: inout [BenchmarkResult]) async throws {
        // B is stopped (since the creates); A makes the changes, which reach Redis and the stream.
        let changes = options.quick ? 2000 : 100_000
        _ = try await SQLiteWorkloads(options: options).prefill(a.store, count: changes)
        try await a.replicated.replicator.catchUp()
        let follower = try unwrapOrThrow(b.replicated.follower)
        let before = follower.status.applied
        let started = ContinuousClock.now
        try await follower.catchUp()
        let elapsed = ContinuousClock.now - started
        var latencies = LatencyRecorder(capacity: 1)
        latencies.record(elapsed)
        results.append(BenchmarkResult(
            workload: "catch-up after an outage", store: "sqlite+redis stream", concurrency: 1,
            operations: follower.status.applied - before, elapsed: elapsed, latencies: latencies,
            note: "entries/s applied by a host that missed \(ResultTable.count(changes)) creates"
        ))
        options.report(results.last!)
    }

    private func measureOutage(_ a: Host, _ b: Host, server: RedisServerProcess, into results: inout [BenchmarkResult]) async throws {
        b.start()
        let outage: Duration = options.quick ? .seconds(1) : .seconds(10)
        let traffic = [a, b].map { host in
            Task {
                var made: [SessionToken] = []
                var acknowledged = 0
                while !Task.isCancelled {
                    do {
                        if made.count < 50 || acknowledged.isMultiple(of: 3) {
                            made.append(try await host.store.create(userID: "o\(acknowledged % 20)", data: options.payload).token)
                        } else {
                            try await host.store.update(made[acknowledged % made.count]) { $0.metadata["n"] = "\(acknowledged)" }
                        }
                    } catch let error as SessionStoreError where error.code == .conflict {
                        // Traffic, not a check: a save that lost every retry on a loaded machine
                        // is not counted, and the traffic goes on.
                        continue
                    } catch where Task.isCancelled {
                        break
                    }
                    acknowledged += 1
                    do { try await Task.sleep(for: .milliseconds(2)) } catch { break }
                }
                return acknowledged
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        guard let pid = server.processIdentifier else { throw BenchmarkFailure("redis-server is not running") }
        kill(pid, SIGSTOP)
        try await Task.sleep(for: outage)
        kill(pid, SIGCONT)
        let resumed = ContinuousClock.now
        var acknowledged = 0
        for task in traffic {
            task.cancel()
            acknowledged += try await task.value
        }
        // Converged: neither host has anything left to send, and each has applied the stream to its end.
        try await settle([a, b], redisPort: server.port)
        let waited = ContinuousClock.now - resumed
        var latencies = LatencyRecorder(capacity: 1)
        latencies.record(waited)
        results.append(BenchmarkResult(
            workload: "converged after a Redis outage", store: "sqlite+redis stream", concurrency: 2,
            operations: acknowledged, elapsed: waited, latencies: latencies,
            note: "\(outage) outage under traffic on both hosts; time from Redis back to agreement"
        ))
        options.report(results.last!)
    }
}

/// `x ?? throw`, for the one optional the benchmark cannot do without.
func unwrapOrThrow<T>(_ value: T?) throws -> T {
    guard let value else { throw BenchmarkFailure("a host has no stream follower") }
    return value
}

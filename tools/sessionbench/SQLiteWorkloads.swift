import Foundation
import Sessions
import SQLiteSessions

/// The workloads that measure ``SQLiteSessionStore`` on its own.
struct SQLiteWorkloads {
    let options: BenchmarkOptions

    func run(into results: inout [BenchmarkResult]) async throws {
        for durability in [SQLiteSessionStore.Durability.full, .normal] {
            for concurrency in [1, 64] where options.includes("create") {
                results.append(try await create(durability: durability, concurrency: concurrency))
                options.report(results.last!)
            }
        }
        if options.includes("update") {
            for concurrency in [1, 64] {
                results.append(try await update(concurrency: concurrency))
                options.report(results.last!)
            }
        }
        if options.includes("load") {
            for concurrency in [1, 64] {
                results.append(try await load(concurrency: concurrency))
                options.report(results.last!)
            }
        }
        if options.includes("delete") {
            results.append(try await delete(concurrency: 64))
            options.report(results.last!)
        }
        if options.includes("purge") {
            results.append(try await purge())
            options.report(results.last!)
        }
    }

    private func openStore(
        durability: SQLiteSessionStore.Durability,
        policy: SessionPolicy = SessionPolicy(expiration: .absolute(.seconds(24 * 3600)))
    ) throws -> (SQLiteSessionStore, URL) {
        let directory = try options.makeDirectory()
        let store = try SQLiteSessionStore(
            path: directory.appendingPathComponent("bench.sqlite").path,
            policy: policy,
            configuration: .init(durability: durability)
        )
        return (store, directory)
    }

    private func create(durability: SQLiteSessionStore.Durability, concurrency: Int) async throws -> BenchmarkResult {
        let (store, directory) = try openStore(durability: durability)
        defer { try? FileManager.default.removeItem(at: directory) }
        let payload = options.payload
        let before = try await store.stats().writes ?? WriteStats()
        let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, _ in
            _ = try await store.create(userID: "user\(task)", data: payload)
        }
        let after = try await store.stats().writes ?? WriteStats()
        try await store.close()
        let perCommit = Double(after.operations - before.operations) / Double(max(1, after.transactions - before.transactions))
        return BenchmarkResult(
            workload: "create", store: "sqlite", concurrency: concurrency, durability: durability.rawValue,
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
            note: String(format: "%.1f writes/commit", perCommit)
        )
    }

    private func update(concurrency: Int) async throws -> BenchmarkResult {
        let (store, directory) = try openStore(durability: .full)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sessions = try await prefill(store, count: min(options.sessions, 10_000))
        let payload = options.payload
        let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, iteration in
            var session = sessions[(task * 7919 + iteration * concurrency) % sessions.count].session
            session.data = payload
            _ = try await store.save(session)
        }
        try await store.close()
        return BenchmarkResult(
            workload: "update", store: "sqlite", concurrency: concurrency, durability: "full",
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies
        )
    }

    private func load(concurrency: Int) async throws -> BenchmarkResult {
        let (store, directory) = try openStore(durability: .normal)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sessions = try await prefill(store, count: options.sessions)
        let tokens = sessions.map(\.token)
        let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, iteration in
            let index = (task &* 104_729 &+ iteration &* 7919) % tokens.count
            guard try await store.load(tokens[index]) != nil else { throw BenchmarkFailure("a prefilled session did not load") }
        }
        try await store.close()
        return BenchmarkResult(
            workload: "load", store: "sqlite", concurrency: concurrency,
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
            note: "\(tokens.count) sessions, random keys"
        )
    }

    private func delete(concurrency: Int) async throws -> BenchmarkResult {
        let (store, directory) = try openStore(durability: .full)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sessions = try await prefill(store, count: options.sessions)
        let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration, limit: sessions.count) { task, iteration in
            let index = iteration * concurrency + task
            guard index < sessions.count else { return }
            _ = try await store.delete(sessions[index].token)
        }
        try await store.close()
        return BenchmarkResult(
            workload: "delete", store: "sqlite", concurrency: concurrency, durability: "full",
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies
        )
    }

    private func purge() async throws -> BenchmarkResult {
        let clock = ManualSessionClock(SystemSessionClock().now)
        let (store, directory) = try openStore(
            durability: .full,
            policy: SessionPolicy(expiration: .absolute(.seconds(60)), clock: clock)
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        let count = options.sessions
        _ = try await prefill(store, count: count)
        clock.advance(by: .seconds(61))
        let start = ContinuousClock.now
        let purged = try await store.purgeExpired(limit: .max)
        let elapsed = ContinuousClock.now - start
        try await store.close()
        guard purged == count else { throw BenchmarkFailure("purged \(purged) of \(count) expired sessions") }
        var latencies = LatencyRecorder(capacity: 1)
        latencies.record(elapsed)
        return BenchmarkResult(
            workload: "purge", store: "sqlite", concurrency: 1, durability: "full",
            operations: purged, elapsed: elapsed, latencies: latencies,
            note: "rows/s; chunks of \(SQLiteSessionStore.purgeChunkSize)"
        )
    }

    /// Creates `count` sessions quickly (64 concurrent creates share commits).
    func prefill(_ store: any SessionStore, count: Int) async throws -> [IssuedSession] {
        let payload = options.payload
        return try await withThrowingTaskGroup(of: [IssuedSession].self) { group in
            let workers = 64
            for worker in 0..<workers {
                group.addTask {
                    var issued: [IssuedSession] = []
                    for index in stride(from: worker, to: count, by: workers) {
                        issued.append(try await store.create(userID: "user\(index % 1000)", data: payload))
                    }
                    return issued
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

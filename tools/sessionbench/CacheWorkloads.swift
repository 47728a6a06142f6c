import Foundation
import Sessions
import SQLiteSessions

/// The workloads that measure ``CachedSessionStore``: hits, and the same loads without a cache.
struct CacheWorkloads {
    let options: BenchmarkOptions

    func run(into results: inout [BenchmarkResult]) async throws {
        guard options.includes("load hit") || options.includes("cache") else { return }
        let directory = try options.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = SessionPolicy(expiration: .idle(.seconds(1800)))
        let backing = try SQLiteSessionStore(
            path: directory.appendingPathComponent("bench.sqlite").path,
            policy: policy,
            configuration: .init(durability: .normal)
        )
        let count = min(options.sessions, 100_000)
        let store = try CachedSessionStore(wrapping: backing, configuration: .init(maxEntries: count))
        let tokens = try await SQLiteWorkloads(options: options).prefill(store, count: count).map(\.token)
        for token in tokens { _ = try await store.load(token) }
        let cookies = tokens.map(\.stringValue)
        let hot = Array(tokens.prefix(1000))

        for (label, set, concurrency) in [("hot 1k", hot, 1), ("hot 1k", hot, 64), ("all", tokens, 1)] {
            let size = set.count
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration, sampleEvery: 64) { task, iteration in
                guard try await store.load(set[(task &* 104_729 &+ iteration &* 7919) % size]) != nil else {
                    throw BenchmarkFailure("a cached session did not load")
                }
            }
            results.append(BenchmarkResult(
                workload: label == "all" ? "load hit, all cached" : "load hit", store: "cached", concurrency: concurrency,
                operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
                note: "\(label) of \(count) cached sessions; every 64th timed"
            ))
            options.report(results.last!)
        }

        let parsed = try await Measurement.run(concurrency: 1, duration: options.duration, sampleEvery: 64) { _, iteration in
            let token = try SessionToken(cookies[(iteration &* 7919) % 1000])
            guard try await store.load(token) != nil else { throw BenchmarkFailure("a cached session did not load") }
        }
        results.append(BenchmarkResult(
            workload: "load hit from cookie", store: "cached", concurrency: 1,
            operations: parsed.operations, elapsed: parsed.elapsed, latencies: parsed.latencies,
            note: "hot 1k; parse + SHA-256 + hit"
        ))
        options.report(results.last!)
        let stats = store.cacheStats
        emit("  cache: \(stats.hits) hits, \(stats.misses) misses, \(stats.touchesPersisted) uses written back")
        try await store.close()
    }
}

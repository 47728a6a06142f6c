import CSQLite
import Foundation
import Sessions
import SQLiteSessions

/// How cost grows with the number of stored sessions, and what opening a big file costs.
struct ScaleWorkloads {
    let options: BenchmarkOptions

    func run(into results: inout [BenchmarkResult]) async throws {
        guard options.includes("scaling") || options.includes("open") else { return }
        for size in options.scaleSizes {
            let directory = try options.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("bench.sqlite").path
            let started = ContinuousClock.now
            let sample = try await BulkFile.generate(path: path, count: size, payload: options.payload, sample: 100_000)
            emit("  (generated \(size) sessions in \(ResultTable.seconds(ContinuousClock.now - started)))")
            if options.includes("scaling") {
                try await measureScale(path: path, size: size, sample: sample, into: &results)
            }
            if options.includes("open"), size == options.scaleSizes.last {
                results.append(try await openAndFirstLoad(path: path, size: size, sample: sample))
                options.report(results.last!)
            }
        }
    }

    private func measureScale(path: String, size: Int, sample: [SessionToken], into results: inout [BenchmarkResult]) async throws {
        let label = "scaling \(ResultTable.count(size))"
        let store = try SQLiteSessionStore(path: path, policy: BulkFile.policy, configuration: .init(durability: .full))
        let miss = try await Measurement.run(concurrency: 1, duration: options.duration) { _, iteration in
            guard try await store.load(sample[(iteration &* 7919) % sample.count]) != nil else {
                throw BenchmarkFailure("a generated session did not load")
            }
        }
        results.append(BenchmarkResult(
            workload: "\(label) load miss", store: "sqlite", concurrency: 1,
            operations: miss.operations, elapsed: miss.elapsed, latencies: miss.latencies,
            note: "random keys over all \(ResultTable.count(size))"
        ))
        options.report(results.last!)

        let cached = try CachedSessionStore(wrapping: store, configuration: .init(maxEntries: sample.count))
        for token in sample { _ = try await cached.load(token) }
        let hit = try await Measurement.run(concurrency: 1, duration: options.duration, sampleEvery: 64) { _, iteration in
            guard try await cached.load(sample[(iteration &* 7919) % sample.count]) != nil else {
                throw BenchmarkFailure("a cached session did not load")
            }
        }
        results.append(BenchmarkResult(
            workload: "\(label) load hit", store: "cached", concurrency: 1,
            operations: hit.operations, elapsed: hit.elapsed, latencies: hit.latencies,
            note: "\(ResultTable.count(sample.count)) cached, random keys; every 64th timed"
        ))
        options.report(results.last!)

        let payload = options.payload
        let create = try await Measurement.run(concurrency: 64, duration: options.duration) { task, _ in
            _ = try await store.create(userID: "user\(task)", data: payload)
        }
        results.append(BenchmarkResult(
            workload: "\(label) create", store: "sqlite", concurrency: 64, durability: "full",
            operations: create.operations, elapsed: create.elapsed, latencies: create.latencies
        ))
        options.report(results.last!)
        try await cached.close()
    }

    /// Opening the file (schema check, WAL, reader pool, cache) and the first load, from a cold
    /// start of the process's store, five times; the OS page cache is warm, as after a restart.
    private func openAndFirstLoad(path: String, size: Int, sample: [SessionToken]) async throws -> BenchmarkResult {
        var latencies = LatencyRecorder()
        var total = Duration.zero
        for attempt in 0..<5 {
            let start = ContinuousClock.now
            let store = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path, policy: BulkFile.policy))
            guard try await store.load(sample[attempt * 7 % sample.count]) != nil else {
                throw BenchmarkFailure("the first load found nothing")
            }
            let elapsed = ContinuousClock.now - start
            latencies.record(elapsed)
            total += elapsed
            try await store.close()
        }
        return BenchmarkResult(
            workload: "open + first load", store: "cached", concurrency: 1,
            operations: 5, elapsed: total, latencies: latencies,
            note: "\(ResultTable.count(size))-session file, OS cache warm"
        )
    }
}

/// Writes a session file of any size fast: the store creates the schema, then one connection
/// inserts rows in large transactions with `synchronous=OFF` and the change-log triggers off
/// (a generated file has no history). The rows are what the store itself would write: ids are
/// ascending selectors and each token carries its row's id.
enum BulkFile {
    /// Absolute expiry a day out: loads never write.
    static let policy = SessionPolicy(expiration: .absolute(.seconds(24 * 3600)))

    /// Returns up to `sample` of the tokens, spread evenly over the file.
    static func generate(path: String, count: Int, payload: Data, sample: Int) async throws -> [SessionToken] {
        try await SQLiteSessionStore(path: path, policy: policy).close()
        let connection = try RawConnection(path: path)
        _ = csqlite_enable_triggers(connection.handle, 0)
        try connection.execute("PRAGMA synchronous = OFF")
        let insert = try connection.prepare("""
            INSERT INTO sessions (token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at, \
            idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent, id) \
            VALUES (?1, ?2, ?3, NULL, ?4, ?4, ?4, NULL, ?5, ?5, 1, '203.0.113.7', 'Mozilla/5.0 (sessionbench)', ?6)
            """)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let every = max(1, count / sample)
        var tokens: [SessionToken] = []
        tokens.reserveCapacity(min(count, sample))
        try connection.execute("BEGIN")
        // Selectors as the store mints them: the creation time shifted left 20 bits, counting up.
        let firstSelector = (now - Int64(count)) << 20
        for index in 0..<count {
            let token = SessionToken.generate(selector: firstSelector + Int64(index))
            if index % every == 0 && tokens.count < sample { tokens.append(token) }
            token.hash.withUnsafeBytes { insert.bind($0, at: 1) }
            insert.bind("user\(index % max(1, count / 5))", at: 2)
            insert.bind(payload, at: 3)
            insert.bind(now, at: 4)
            insert.bind(now + 24 * 3_600_000, at: 5)
            insert.bind(token.selector, at: 6)
            try insert.run()
            if index % 200_000 == 199_999 {
                try connection.execute("COMMIT; BEGIN")
            }
        }
        try connection.execute("COMMIT")
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return tokens
    }
}

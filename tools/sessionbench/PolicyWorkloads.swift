import Foundation
import Sessions
import SQLiteSessions
import Synchronization

/// Workloads about behaviour rather than raw speed: sliding reads, revoking a user, purging
/// under a reader, memory per cached session, and what encryption and message logs cost.
struct PolicyWorkloads {
    let options: BenchmarkOptions

    func run(into results: inout [BenchmarkResult]) async throws {
        if options.includes("sliding") {
            results.append(try await slidingReads())
            options.report(results.last!)
        }
        if options.includes("revoke") {
            for concurrency in [1, 64] {
                results.append(try await revokeUser(concurrency: concurrency))
                options.report(results.last!)
            }
        }
        if options.includes("purge") {
            results.append(contentsOf: try await purgeUnderReader())
            results.suffix(2).forEach(options.report)
        }
        if options.includes("memory") {
            results.append(contentsOf: try await memoryPerSession())
            results.suffix(2).forEach(options.report)
        }
        if options.includes("encrypt") {
            results.append(contentsOf: try await encryption())
            results.suffix(2).forEach(options.report)
        }
        if options.includes("message") {
            for concurrency in [1, 64] {
                results.append(try await appendMessages(concurrency: concurrency))
                options.report(results.last!)
            }
        }
    }

    private func store(
        durability: SQLiteSessionStore.Durability = .full,
        policy: SessionPolicy = BulkFile.policy
    ) throws -> (SQLiteSessionStore, URL) {
        let directory = try options.makeDirectory()
        let store = try SQLiteSessionStore(
            path: directory.appendingPathComponent("bench.sqlite").path,
            policy: policy,
            configuration: .init(durability: durability)
        )
        return (store, directory)
    }

    /// The acceptance workload of the cache: 1000 idle-expiry sessions last written ten minutes
    /// ago, each read 100 times within 50 seconds (the clock is injected and moves 0.5 s a round),
    /// through the cache over SQLite. Counts the rows the reads wrote.
    private func slidingReads() async throws -> BenchmarkResult {
        let clock = ManualSessionClock(SystemSessionClock().now)
        let (backing, directory) = try store(durability: .normal, policy: SessionPolicy(expiration: .idle(.seconds(1800)), clock: clock))
        defer { try? FileManager.default.removeItem(at: directory) }
        let cached = try CachedSessionStore(wrapping: backing)
        let tokens = try await SQLiteWorkloads(options: options).prefill(cached, count: 1000).map(\.token)
        clock.advance(by: .seconds(600))
        let before = try await backing.stats().writes?.operations ?? 0
        var latencies = LatencyRecorder()
        let clockNow = ContinuousClock()
        let start = clockNow.now
        for _ in 0..<100 {
            for token in tokens {
                let began = clockNow.now
                guard try await cached.load(token) != nil else { throw BenchmarkFailure("a session expired while in use") }
                latencies.record(clockNow.now - began)
            }
            clock.advance(by: .milliseconds(500))
        }
        let elapsed = clockNow.now - start
        await cached.waitForPendingTouches()
        let written = (try await backing.stats().writes?.operations ?? 0) - before
        try await cached.close()
        let loads = tokens.count * 100
        return BenchmarkResult(
            workload: "sliding reads", store: "cached", concurrency: 1,
            operations: loads, elapsed: elapsed, latencies: latencies,
            note: String(format: "%d rows written for %d loads (%.2f%%)", written, loads, Double(written) * 100 / Double(loads)),
            extra: ["rowsWritten": Double(written), "loads": Double(loads)]
        )
    }

    /// "Log out everywhere": users with five sessions each, one `deleteSessions(forUser:)` per user.
    private func revokeUser(concurrency: Int) async throws -> BenchmarkResult {
        let (store, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let users = max(64, min(options.sessions / 5, 20_000))
        let payload = options.payload
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<64 {
                group.addTask {
                    for user in stride(from: worker, to: users, by: 64) {
                        for _ in 0..<5 { _ = try await store.create(userID: "user\(user)", data: payload) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration, limit: users) { task, iteration in
            let user = iteration * concurrency + task
            guard user < users else { return }
            guard try await store.deleteSessions(forUser: "user\(user)") == 5 else { throw BenchmarkFailure("a user did not have 5 sessions") }
        }
        try await store.close()
        return BenchmarkResult(
            workload: "revoke user", store: "sqlite", concurrency: concurrency, durability: "full",
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
            note: "5 sessions per user"
        )
    }

    /// 100k expired rows purged while one task keeps loading live sessions (straight from SQLite):
    /// the purge rate and the reader's latency. Then another 100k purged while one task logs in,
    /// one create at a time: the creates' latency, against creates in the same file just before.
    private func purgeUnderReader() async throws -> [BenchmarkResult] {
        let clock = ManualSessionClock(SystemSessionClock().now)
        let (store, directory) = try store(policy: SessionPolicy(expiration: .absolute(.seconds(60)), clock: clock))
        defer { try? FileManager.default.removeItem(at: directory) }
        let count = options.purgeRows
        let payload = options.payload
        var created: [SessionToken] = []
        for index in 0..<1000 {
            created.append(try await store.create(userID: "live\(index)", data: payload, expiration: .absolute(.seconds(24 * 3600))).token)
        }
        let live = created
        let load = { @Sendable (index: Int) async throws in
            guard try await store.load(live[(index &* 7919) % live.count]) != nil else { throw BenchmarkFailure("a live session vanished") }
        }
        let login = { @Sendable (index: Int) async throws in
            _ = try await store.create(userID: "login\(index % 1000)", data: payload, expiration: .absolute(.seconds(24 * 3600)))
        }

        _ = try await SQLiteWorkloads(options: options).prefill(store, count: count)
        clock.advance(by: .seconds(61))
        let (purged, elapsed, loads, readerLatencies) = try await Self.purge(store, beside: load)
        guard purged == count else { throw BenchmarkFailure("purged \(purged) of \(count) expired sessions") }

        _ = try await SQLiteWorkloads(options: options).prefill(store, count: count)
        let before = try await Measurement.run(concurrency: 1, duration: options.duration) { _, index in try await login(index) }
        clock.advance(by: .seconds(61))
        let (purgedBeside, elapsedBeside, creates, createLatencies) = try await Self.purge(store, beside: login)
        try await store.close()
        guard purgedBeside >= count else { throw BenchmarkFailure("purged \(purgedBeside) of \(count) expired sessions") }

        var purgeLatency = LatencyRecorder(capacity: 1)
        purgeLatency.record(elapsed)
        return [
            BenchmarkResult(
                workload: "purge", store: "sqlite", concurrency: 1, durability: "full",
                operations: purged, elapsed: elapsed, latencies: purgeLatency,
                note: "rows/s; a reader running"
            ),
            BenchmarkResult(
                workload: "load during purge", store: "sqlite", concurrency: 1,
                operations: loads, elapsed: elapsed, latencies: readerLatencies,
                note: "the reader's loads while the purge ran"
            ),
            BenchmarkResult(
                workload: "create before purge", store: "sqlite", concurrency: 1, durability: "full",
                operations: before.operations, elapsed: before.elapsed, latencies: before.latencies,
                note: "one at a time, in the file about to be purged"
            ),
            BenchmarkResult(
                workload: "create during purge", store: "sqlite", concurrency: 1, durability: "full",
                operations: creates, elapsed: elapsedBeside, latencies: createLatencies,
                note: String(format: "one at a time while %@ expired sessions were purged (%.1fk rows/s)", ResultTable.count(count), Double(purgedBeside) / elapsedBeside.seconds / 1000)
            ),
        ]
    }

    /// Purges every expired session while one task repeats `operation`, timing each.
    private static func purge(
        _ store: SQLiteSessionStore,
        beside operation: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> (purged: Int, elapsed: Duration, operations: Int, latencies: LatencyRecorder) {
        let running = RunningFlag()
        let worker = Task {
            var latencies = LatencyRecorder()
            var count = 0
            let watch = ContinuousClock()
            while running.isSet {
                let began = watch.now
                try await operation(count)
                latencies.record(watch.now - began)
                count += 1
            }
            return (count, latencies)
        }
        let start = ContinuousClock.now
        let purged = try await store.purgeExpired(limit: .max)
        let elapsed = ContinuousClock.now - start
        running.clear()
        let (count, latencies) = try await worker.value
        return (purged, elapsed, count, latencies)
    }

    /// Resident anonymous memory the cache adds per session, at two payload sizes: the slope is
    /// memory per payload byte, the intercept the fixed overhead of an entry.
    private func memoryPerSession() async throws -> [BenchmarkResult] {
        var perSession: [(payload: Int, bytes: Double)] = []
        var results: [BenchmarkResult] = []
        let count = options.memorySessions
        for size in [200, 2000] {
            let payload = Data((0..<size).map { UInt8(ascii: "a") &+ UInt8($0 % 26) })
            let directory = try options.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("bench.sqlite").path
            let tokens = try await BulkFile.generate(path: path, count: count, payload: payload, sample: count)
            let cached = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path, policy: BulkFile.policy), configuration: .init(maxEntries: count, maxBytes: 1 << 40))
            _ = try await cached.load(tokens[0])
            let before = residentBytes()
            let start = ContinuousClock.now
            for token in tokens { _ = try await cached.load(token) }
            let elapsed = ContinuousClock.now - start
            let after = residentBytes()
            let entries = cached.cacheStats.entries
            let bytes = Double(after - before) / Double(max(1, entries))
            perSession.append((size, bytes))
            try await cached.close()
            var latencies = LatencyRecorder(capacity: 1)
            latencies.record(elapsed)
            results.append(BenchmarkResult(
                workload: "memory \(size) B payload", store: "cached", concurrency: 1,
                operations: entries, elapsed: elapsed, latencies: latencies,
                note: String(format: "%.0f bytes resident per session (%.2f× payload)", bytes, bytes / Double(size)),
                extra: ["bytesPerSession": bytes, "payload": Double(size)]
            ))
        }
        let slope = (perSession[1].bytes - perSession[0].bytes) / Double(perSession[1].payload - perSession[0].payload)
        let fixed = perSession[0].bytes - slope * Double(perSession[0].payload)
        results[1].note! += String(format: "; slope %.2f bytes per payload byte, fixed %.0f bytes per entry", slope, fixed)
        results[1].extra["slope"] = slope
        results[1].extra["fixed"] = fixed
        return results
    }

    /// Create (64 concurrent, `.full`) and load miss (1 task) with AES-256-GCM sealing on; the
    /// unsealed rows are the plain `create` and `load miss` rows.
    private func encryption() async throws -> [BenchmarkResult] {
        let key = try SessionEncryption(parsing: "bench:\(SessionEncryption.generateKey())")
        let (store, directory) = try store(policy: SessionPolicy(expiration: .absolute(.seconds(24 * 3600)), encryption: key))
        defer { try? FileManager.default.removeItem(at: directory) }
        let payload = options.payload
        let create = try await Measurement.run(concurrency: 64, duration: options.duration) { task, _ in
            _ = try await store.create(userID: "user\(task)", data: payload)
        }
        let tokens = try await SQLiteWorkloads(options: options).prefill(store, count: min(options.sessions, 20_000)).map(\.token)
        let load = try await Measurement.run(concurrency: 1, duration: options.duration) { _, iteration in
            guard try await store.load(tokens[(iteration &* 7919) % tokens.count]) != nil else { throw BenchmarkFailure("a sealed session did not load") }
        }
        try await store.close()
        return [
            BenchmarkResult(
                workload: "create encrypted", store: "sqlite", concurrency: 64, durability: "full",
                operations: create.operations, elapsed: create.elapsed, latencies: create.latencies, note: "AES-256-GCM"
            ),
            BenchmarkResult(
                workload: "load miss encrypted", store: "sqlite", concurrency: 1,
                operations: load.operations, elapsed: load.elapsed, latencies: load.latencies,
                note: "AES-256-GCM, \(tokens.count) sessions"
            ),
        ]
    }

    /// Appending chat messages (about 120 bytes each) to 64 sessions whose logs are capped at 100,
    /// so most appends also drop the oldest message.
    private func appendMessages(concurrency: Int) async throws -> BenchmarkResult {
        let (store, directory) = try store(policy: SessionPolicy(expiration: .absolute(.seconds(24 * 3600)), maxMessagesPerSession: 100))
        defer { try? FileManager.default.removeItem(at: directory) }
        var issued: [SessionToken] = []
        for index in 0..<64 { issued.append(try await store.create(userID: "user\(index)").token) }
        let tokens = issued
        let content = "Which of my orders shipped this week, and when will the rest arrive? Please list them by date."
        let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, _ in
            _ = try await store.append(SessionMessageDraft(role: .user, content: content), to: tokens[task % tokens.count])
        }
        try await store.close()
        return BenchmarkResult(
            workload: "append message", store: "sqlite", concurrency: concurrency, durability: "full",
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
            note: "log capped at 100 per session"
        )
    }
}

/// The process's resident anonymous memory (`RssAnon` in /proc/self/status): heap and stacks,
/// without the file pages SQLite maps, which belong to the OS page cache and are shared.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }),
        let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return 0 }
    return kilobytes * 1024
}

/// A flag one task clears to stop others.
final class RunningFlag: Sendable {
    private let value = Atomic<Bool>(true)

    var isSet: Bool { value.load(ordering: .relaxed) }

    func clear() { value.store(false, ordering: .relaxed) }
}

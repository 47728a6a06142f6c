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
        if options.includes("load miss") || options.includes("raw") {
            try await loads(into: &results)
        }
        if options.includes("delete") {
            results.append(try await delete(concurrency: 64))
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

    /// Loads that miss every cache: the store reading SQLite, then the same lookups as one
    /// prepared statement on a bare connection, the floor the store's read path is held to.
    private func loads(into results: inout [BenchmarkResult]) async throws {
        let (store, directory) = try openStore(durability: .normal)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokens = try await prefill(store, count: options.sessions).map(\.token)
        for concurrency in [1, 64] {
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, iteration in
                let index = (task &* 104_729 &+ iteration &* 7919) % tokens.count
                guard try await store.load(tokens[index]) != nil else { throw BenchmarkFailure("a prefilled session did not load") }
            }
            results.append(BenchmarkResult(
                workload: "load miss", store: "sqlite", concurrency: concurrency,
                operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
                note: "\(tokens.count) sessions, random keys"
            ))
            options.report(results.last!)
        }
        let raw = try RawLookup(path: directory.appendingPathComponent("bench.sqlite").path)
        let outcome = try await Measurement.run(concurrency: 1, duration: options.duration) { _, iteration in
            guard try raw.find(tokens[(iteration &* 7919) % tokens.count]) else { throw BenchmarkFailure("a prefilled row was not found") }
        }
        results.append(BenchmarkResult(
            workload: "load miss", store: "raw statement", concurrency: 1,
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
            note: "the store's SELECT, all 15 columns read; no store"
        ))
        options.report(results.last!)
        try await store.close()
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

    /// Creates `count` sessions quickly (64 concurrent creates share commits).
    /// Creates `count` sessions from 64 tasks. An SQLite store's log is then copied back into the
    /// file, so what is measured next starts from the state a store settles into when writes
    /// pause, not from the middle of a checkpoint.
    func prefill(_ store: any SessionStore, count: Int) async throws -> [IssuedSession] {
        let issued = try await create(count, in: store)
        if let sqlite = store as? SQLiteSessionStore { _ = try await sqlite.checkpoint() }
        return issued
    }

    private func create(_ count: Int, in store: any SessionStore) async throws -> [IssuedSession] {
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

/// The store's own lookup as a bare prepared statement: bind the token's selector and the time,
/// step, compare the token hash, copy out every column. One task uses it.
final class RawLookup: @unchecked Sendable {
    // Safe: the benchmark calls `find` from one task at a time (concurrency 1), never in parallel.
    private let connection: RawConnection
    private let statement: RawStatement

    init(path: String) throws {
        connection = try RawConnection(path: path)
        statement = try connection.prepare("""
            SELECT id, token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at, \
            idle_timeout_ms, absolute_expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent \
            FROM sessions WHERE id = ?1 AND expires_at > ?2
            """)
    }

    func find(_ token: SessionToken) throws -> Bool {
        defer { statement.reset() }
        statement.bind(token.selector, at: 1)
        statement.bind(Int64(Date().timeIntervalSince1970 * 1000), at: 2)
        guard try statement.step() else { return false }
        guard token.hash.withUnsafeBytes({ statement.blob(1, equals: $0) }) else { return false }
        let row = RawSessionRow(
            id: statement.int64(0), tokenHash: statement.data(1), userID: statement.string(2),
            data: statement.data(3), metadata: statement.string(4), createdAt: statement.int64(5),
            updatedAt: statement.int64(6), lastSeenAt: statement.int64(7), idleTimeout: statement.int64(8),
            absoluteExpiresAt: statement.int64(9), version: statement.int64(10), ip: statement.string(11),
            userAgent: statement.string(12), lastSeenIP: statement.string(13), lastSeenUserAgent: statement.string(14)
        )
        return blackHole(row)
    }
}

/// Every column of a session row, as an application reading the table by hand would hold it.
struct RawSessionRow {
    var id: Int64
    var tokenHash: Data
    var userID: String?
    var data: Data
    var metadata: String?
    var createdAt, updatedAt, lastSeenAt, idleTimeout, absoluteExpiresAt, version: Int64
    var ip, userAgent, lastSeenIP, lastSeenUserAgent: String?
}

/// Keeps the optimizer from dropping work whose result is otherwise unused.
@inline(never)
func blackHole<T>(_ value: T) -> Bool {
    withUnsafePointer(to: value) { UInt(bitPattern: $0) != 0 }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import Sessions
import SQLiteSessions
import Synchronization

/// The peers that are not Redis: a naive SQLite session store, the raw prepared-statement
/// lookup, and the limits of this machine (fdatasync rate, a bare `Dictionary` lookup).
struct PeerWorkloads {
    let options: BenchmarkOptions

    /// The limits, measured first so nothing else is running yet.
    func limits(into results: inout [BenchmarkResult]) async throws {
        if options.includes("limits") || options.includes("fdatasync") || options.includes("create") {
            results.append(try await fdatasyncRate())
            options.report(results.last!)
        }
        if options.includes("limits") || options.includes("dictionary") || options.includes("load hit") {
            results.append(try await dictionaryLookups())
            options.report(results.last!)
        }
    }

    func run(into results: inout [BenchmarkResult]) async throws {
        if options.includes("naive") || options.includes("create") || options.includes("load miss") {
            try await naive(into: &results)
        }
    }

    /// How many 4 KiB write + fdatasync pairs the temp directory's disk does in a row: the most
    /// durable commits one writer can make, and the floor under `create` at concurrency 1.
    private func fdatasyncRate() async throws -> BenchmarkResult {
        let directory = try options.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("fdatasync.bin").path
        let duration = options.duration
        let (operations, elapsed, latencies) = try await offloaded { () throws -> (Int, Duration, LatencyRecorder) in
            let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw BenchmarkFailure("cannot create \(path)") }
            defer { close(fd) }
            let page = [UInt8](repeating: 0xA5, count: 4096)
            var latencies = LatencyRecorder()
            let clock = ContinuousClock()
            let start = clock.now
            var operations = 0
            while clock.now - start < duration {
                let before = clock.now
                guard pwrite(fd, page, page.count, 0) == page.count, fdatasync(fd) == 0 else {
                    throw BenchmarkFailure("write + fdatasync failed: errno \(errno)")
                }
                latencies.record(clock.now - before)
                operations += 1
            }
            return (operations, clock.now - start, latencies)
        }
        return BenchmarkResult(
            workload: "fdatasync", store: "limit", concurrency: 1,
            operations: operations, elapsed: elapsed, latencies: latencies,
            note: "4 KiB pwrite + fdatasync, \(FileManager.default.temporaryDirectory.path)"
        )
    }

    /// A `[TokenHash: Session]` lookup of the same hot 1000 sessions the cache-hit row reads:
    /// what memory can do with no lock, no LRU and no expiry check.
    private func dictionaryLookups() async throws -> BenchmarkResult {
        var table: [TokenHash: Session] = [:]
        var keys: [TokenHash] = []
        let now = SystemSessionClock().now
        for index in 0..<1000 {
            let token = SessionToken.generate()
            keys.append(token.hash)
            table[token.hash] = Session(
                id: Int64(index), tokenHash: token.hash, userID: "user\(index)", data: options.payload,
                createdAt: now, updatedAt: now, lastSeenAt: now,
                deadlines: SessionDeadlines(.absolute(.seconds(3600)), appliedAt: now), version: 1
            )
        }
        let lookup = DictionaryBox(table: table, keys: keys)
        let outcome = try await Measurement.run(concurrency: 1, duration: options.duration, sampleEvery: 64) { _, iteration in
            guard lookup.find(iteration) else { throw BenchmarkFailure("a key went missing") }
        }
        return BenchmarkResult(
            workload: "dictionary lookup", store: "limit", concurrency: 1,
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
            note: "[TokenHash: Session], hot 1k; every 64th timed"
        )
    }

    /// The naive store: one autocommit statement per call on pooled connections, no cache, no
    /// group commit, `INSERT OR REPLACE`.
    private func naive(into results: inout [BenchmarkResult]) async throws {
        for (durability, concurrencies) in [("full", [1, 64]), ("normal", [64])] {
            let directory = try options.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let store = try NaiveSQLiteStore(path: directory.appendingPathComponent("naive.sqlite").path, synchronous: durability)
            let payload = options.payload
            for concurrency in concurrencies {
                let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { _, _ in
                    _ = try await store.create(data: payload)
                }
                results.append(BenchmarkResult(
                    workload: "create", store: "naive sqlite", concurrency: concurrency, durability: durability,
                    operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies
                ))
                options.report(results.last!)
            }
        }

        let directory = try options.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try NaiveSQLiteStore(path: directory.appendingPathComponent("naive.sqlite").path, synchronous: "full")
        let payload = options.payload
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    try await store.createMany(count: options.sessions / 8 + (worker < options.sessions % 8 ? 1 : 0), data: payload)
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        for concurrency in [1, 64] {
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, iteration in
                guard try await store.load(ids[(task &* 104_729 &+ iteration &* 7919) % ids.count]) != nil else {
                    throw BenchmarkFailure("a naive session did not load")
                }
            }
            results.append(BenchmarkResult(
                workload: "load miss", store: "naive sqlite", concurrency: concurrency,
                operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
                note: "\(ids.count) sessions, random keys"
            ))
            options.report(results.last!)
        }
        let update = try await Measurement.run(concurrency: 64, duration: options.duration) { task, iteration in
            try await store.save(ids[(task &* 7919 &+ iteration &* 64) % ids.count], data: payload)
        }
        results.append(BenchmarkResult(
            workload: "update", store: "naive sqlite", concurrency: 64, durability: "full",
            operations: update.operations, elapsed: update.elapsed, latencies: update.latencies
        ))
        options.report(results.last!)
        let delete = try await Measurement.run(concurrency: 64, duration: options.duration, limit: ids.count) { task, iteration in
            let index = iteration * 64 + task
            guard index < ids.count else { return }
            try await store.delete(ids[index])
        }
        results.append(BenchmarkResult(
            workload: "delete", store: "naive sqlite", concurrency: 64, durability: "full",
            operations: delete.operations, elapsed: delete.elapsed, latencies: delete.latencies
        ))
        options.report(results.last!)
    }
}

/// The dictionary of the limit row, behind a class so the measured closure captures one pointer.
private final class DictionaryBox: Sendable {
    let table: [TokenHash: Session]
    let keys: [TokenHash]

    init(table: [TokenHash: Session], keys: [TokenHash]) {
        self.table = table
        self.keys = keys
    }

    @inline(never)
    func find(_ iteration: Int) -> Bool {
        table[keys[(iteration &* 7919) % keys.count]] != nil
    }
}

/// A session store as most libraries write one over SQLite: the raw token as primary key, one
/// autocommit statement per call (`INSERT OR REPLACE` to write), a pool of connections used on
/// GCD threads, no cache, no group commit. WAL, with `synchronous` FULL or NORMAL like the store.
final class NaiveSQLiteStore: Sendable {
    private let path: String
    private let synchronous: String
    private let idle = Mutex<[NaiveConnection]>([])

    init(path: String, synchronous: String) throws {
        self.path = path
        self.synchronous = synchronous.uppercased()
        let first = try NaiveConnection(path: path, synchronous: self.synchronous)
        idle.withLock { $0.append(first) }
    }

    func create(data: Data) async throws -> String {
        let id = SessionToken.generate().stringValue
        try await save(id, data: data)
        return id
    }

    /// Creates `count` sessions, one statement each, and returns their ids.
    func createMany(count: Int, data: Data) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<count { ids.append(try await create(data: data)) }
        return ids
    }

    func save(_ id: String, data: Data) async throws {
        let expires = Int64(Date().timeIntervalSince1970 * 1000) + 86_400_000
        try await withConnection { connection in
            connection.upsert.bind(id, at: 1)
            connection.upsert.bind(data, at: 2)
            connection.upsert.bind(expires, at: 3)
            try connection.upsert.run()
        }
    }

    func load(_ id: String) async throws -> Data? {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return try await withConnection { connection in
            defer { connection.select.reset() }
            connection.select.bind(id, at: 1)
            guard try connection.select.step(), connection.select.int64(1) > now else { return nil }
            return connection.select.data(0)
        }
    }

    func delete(_ id: String) async throws {
        try await withConnection { connection in
            connection.delete.bind(id, at: 1)
            try connection.delete.run()
        }
    }

    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (NaiveConnection) throws -> T) async throws -> T {
        try await offloaded { [self] in
            let connection = try idle.withLock { $0.popLast() } ?? NaiveConnection(path: path, synchronous: synchronous)
            defer { idle.withLock { $0.append(connection) } }
            return try body(connection)
        }
    }
}

/// One pooled connection of the naive store with its statements.
///
/// `@unchecked Sendable` is safe because the pool lends a connection to exactly one borrower at a
/// time (it is reachable from the idle list, under the pool's lock, or from the one closure that
/// took it out until that closure puts it back), and SQLite allows a `NOMUTEX` connection to move
/// between threads when no two use it at once.
private final class NaiveConnection: @unchecked Sendable {
    let connection: RawConnection
    let upsert: RawStatement
    let select: RawStatement
    let delete: RawStatement

    init(path: String, synchronous: String) throws {
        connection = try RawConnection(path: path)
        try connection.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = \(synchronous);")
        try connection.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data BLOB NOT NULL, expires_at INTEGER NOT NULL)")
        upsert = try connection.prepare("INSERT OR REPLACE INTO sessions (id, data, expires_at) VALUES (?1, ?2, ?3)")
        select = try connection.prepare("SELECT data, expires_at FROM sessions WHERE id = ?1")
        delete = try connection.prepare("DELETE FROM sessions WHERE id = ?1")
    }
}

/// Runs blocking work on a GCD thread and resumes the caller with its result, so no cooperative
/// thread waits on a disk.
func offloaded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

import ChildProcesses
import Foundation
import LocalRedisServer
import RedisSessions
import Sessions
import SQLiteSessions
import Synchronization

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
        let issued = try await SQLiteWorkloads(options: options).prefill(store, count: min(options.sessions, 20_000))
        let tokens = issued.map(\.token)
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
        // Saves as a request makes them: each task changes its own session, by compare-and-set
        // against the version it last wrote.
        for concurrency in [1, 64] {
            let sessions = SessionBox(try await (0..<concurrency).asyncMap { task in
                try await store.load(tokens[task % tokens.count]).orThrow("a Redis session did not load")
            })
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, iteration in
                var changed = sessions[task]
                changed.metadata["step"] = "\(iteration)"
                sessions[task] = try await store.save(changed, expectedVersion: changed.version)
            }
            results.append(BenchmarkResult(
                workload: "save", store: label, concurrency: concurrency,
                operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies,
                note: "compare-and-set on the version"
            ))
            options.report(results.last!)
        }
        try await store.close()
        try measureRedisBenchmark(on: server, label: label, record: issued[0], into: &results)
    }

    /// `redis-benchmark` on the same server, as the limit for the store's rows: GET of a session's
    /// record (what a load sends) and EVALSHA of the compare-and-set script a save runs, with the
    /// same keys and arguments, at 1 and 64 connections, no pipelining.
    private func measureRedisBenchmark(on server: RedisServerProcess, label: String, record issued: IssuedSession, into results: inout [BenchmarkResult]) throws {
        guard let tool = ChildProcess.find("redis-benchmark") else {
            emit("  redis-benchmark rows: skipped: redis-benchmark is not installed (apt-get install redis-tools)")
            return
        }
        let keys = RedisSessionKeys(prefix: "")
        let key = keys.session(issued.token.hash)
        let text = try RedisBenchmark.command(port: server.port, ["GET", key])
        let save = RedisSessionScripts.replace
        _ = try RedisBenchmark.command(port: server.port, ["SCRIPT", "LOAD", save.source])
        let user = keys.userSessions(issued.session.userID ?? "")
        let evalsha = [
            "EVALSHA", save.sha1, "4", key, user, user, keys.messages(issued.token.hash),
            text, text, "\(issued.session.expiresAt.millisecondsSince1970)", issued.token.hash.hex, "1", "1",
        ]
        for (workload, command) in [("redis-benchmark GET", ["GET", key]), ("redis-benchmark EVALSHA", evalsha)] {
            for concurrency in [1, 64] {
                let requests = options.quick ? 2000 : (concurrency == 1 ? 60_000 : 300_000)
                let figures = try RedisBenchmark.run(tool, port: server.port, connections: concurrency, requests: requests, command: command)
                results.append(BenchmarkResult(
                    workload: workload, store: label, concurrency: concurrency,
                    operations: requests, seconds: Double(requests) / figures.requestsPerSecond,
                    p50Microseconds: figures.p50Milliseconds * 1000, p99Microseconds: figures.p99Milliseconds * 1000,
                    note: "\(concurrency) connection\(concurrency == 1 ? "" : "s"), the limit for the store's \(workload.hasSuffix("GET") ? "load" : "save")"
                ))
                options.report(results.last!)
            }
        }
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

/// Runs redis-benchmark and redis-cli against a server on 127.0.0.1.
enum RedisBenchmark {
    struct Figures {
        var requestsPerSecond: Double
        var p50Milliseconds: Double
        var p99Milliseconds: Double
    }

    /// `redis-benchmark -c connections -n requests --csv <command>`: its rate and latency percentiles.
    static func run(_ tool: String, port: Int, connections: Int, requests: Int, command: [String]) throws -> Figures {
        let arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-c", "\(connections)", "-n", "\(requests)", "--csv"] + command
        let child = try ChildProcess(tool, arguments, environment: [:], standardInput: .null, standardOutput: .pipe, standardError: .pipe)
        let (output, error) = try child.collectOutput()
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        guard child.wait() == .exited(0), let row = lines.last(where: { !$0.hasPrefix("\"test\"") }) else {
            throw BenchmarkFailure("redis-benchmark failed: \(String(decoding: error, as: UTF8.self))")
        }
        // The test's name (the command) may hold commas itself: the figures are the last seven fields.
        let fields = row.split(separator: ",").suffix(7).map { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }
        guard fields.count == 7, let rate = fields[0], let p50 = fields[3], let p99 = fields[5] else {
            throw BenchmarkFailure("redis-benchmark printed \(row)")
        }
        return Figures(requestsPerSecond: rate, p50Milliseconds: p50, p99Milliseconds: p99)
    }

    /// One command through `redis-cli`; its reply as text.
    static func command(port: Int, _ arguments: [String]) throws -> String {
        guard let cli = ChildProcess.find("redis-cli") else { throw BenchmarkFailure("redis-cli is not installed") }
        let child = try ChildProcess(cli, ["-h", "127.0.0.1", "-p", "\(port)", "--raw"] + arguments, environment: [:], standardInput: .null, standardOutput: .pipe, standardError: .pipe)
        let (output, _) = try child.collectOutput()
        guard child.wait() == .exited(0) else { throw BenchmarkFailure("redis-cli \(arguments.first ?? "") failed") }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
}

/// One session per task, each task changing only its own.
final class SessionBox<Element: Sendable>: Sendable {
    private let sessions: Mutex<[Element]>

    init(_ sessions: [Element]) { self.sessions = Mutex(sessions) }

    subscript(task: Int) -> Element {
        get { sessions.withLock { $0[task] } }
        set { sessions.withLock { $0[task] = newValue } }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var mapped: [T] = []
        for element in self { mapped.append(try await transform(element)) }
        return mapped
    }
}

extension Optional {
    func orThrow(_ problem: String) throws -> Wrapped {
        guard let self else { throw BenchmarkFailure(problem) }
        return self
    }
}

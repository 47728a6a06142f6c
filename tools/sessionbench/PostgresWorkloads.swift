import ChildProcesses
import Foundation
import LocalPostgresServer
import Sessions
#if Postgres
import Logging
import PostgresNIO
import PostgresSessions
#endif

/// The PostgreSQL store against a private server started for the run, beside the server's own
/// limit (pgbench's `SELECT 1` rate at the same concurrency) and a naive sessions table that
/// writes on every request.
struct PostgresWorkloads {
    let options: BenchmarkOptions

    func run(into results: inout [BenchmarkResult]) async throws {
        guard options.includes("postgres") else { return }
        #if Postgres
        let server: PostgresServerProcess
        do {
            server = try await PostgresServerProcess.start(settings: ["max_connections=300", "shared_buffers=256MB"])
        } catch {
            throw SkippedWorkload("no PostgreSQL server could be started: \(error)")
        }
        defer { server.stop() }
        try await measureStore(on: server, into: &results)
        try await measureNaive(on: server, into: &results)
        do {
            try await measureFluent(on: server, into: &results)
        } catch {
            emit("  postgres: Fluent's peer skipped: \((error as? SkippedWorkload)?.reason ?? "\(error)")")
        }
        try await measurePgbench(on: server, into: &results)
        #else
        throw SkippedWorkload("sessionbench was built without the Postgres trait; run swift run -c release --traits Postgres sessionbench --only postgres")
        #endif
    }

    #if Postgres
    private func configuration(_ server: PostgresServerProcess) throws -> PostgresSessionStore.Configuration {
        var configuration = try PostgresSessionStore.Configuration(url: server.url)
        configuration.client.options.maximumConnections = 64
        configuration.logger = Logger(label: "sessionbench.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        return configuration
    }

    private func record(_ workload: String, _ store: String, _ concurrency: Int, _ outcome: Measurement.Outcome, note: String? = nil, into results: inout [BenchmarkResult]) {
        results.append(BenchmarkResult(
            workload: workload, store: store, concurrency: concurrency,
            operations: outcome.operations, elapsed: outcome.elapsed, latencies: outcome.latencies, note: note
        ))
        options.report(results.last!)
    }

    private func measureStore(on server: PostgresServerProcess, into results: inout [BenchmarkResult]) async throws {
        // Sliding expiry, so loads exercise touch coalescing: a load writes only when the stored
        // last use is older than the touch interval.
        let policy = SessionPolicy(expiration: .idle(.seconds(1800)))
        let store = try PostgresSessionStore(configuration: configuration(server), policy: policy)
        let payload = options.payload
        for concurrency in [1, 64] {
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, _ in
                _ = try await store.create(userID: "user\(task)", data: payload)
            }
            record("create", "postgres", concurrency, outcome, into: &results)
        }
        let tokens = try await SQLiteWorkloads(options: options).prefill(store, count: min(options.sessions, 20_000)).map(\.token)
        for concurrency in [1, 64] {
            let before = try await changeCount(store)
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { task, iteration in
                guard try await store.load(tokens[(task &* 104_729 &+ iteration &* 7919) % tokens.count]) != nil else {
                    throw BenchmarkFailure("a PostgreSQL session did not load")
                }
            }
            let written = try await changeCount(store) - before
            record("load miss", "postgres", concurrency, outcome, note: "\(tokens.count) sessions; rows written \(written) (\(String(format: "%.2f", 1000 * Double(written) / Double(max(outcome.operations, 1)))) per 1000 loads)", into: &results)
        }
        let cached = try CachedSessionStore(wrapping: store)
        for token in tokens.prefix(1000) { _ = try await cached.load(token) }
        let hot = Array(tokens.prefix(1000))
        let hit = try await Measurement.run(concurrency: 1, duration: options.duration) { _, iteration in
            guard try await cached.load(hot[iteration % hot.count]) != nil else { throw BenchmarkFailure("a cached session did not load") }
        }
        record("load hit", "postgres + cache", 1, hit, into: &results)

        // A cart update as a request makes it: each task saves its own session against the
        // version it last wrote.
        let sessions = SessionBox(try await (0..<64).asyncMap { task in
            try await store.load(tokens[task % tokens.count]).orThrow("a PostgreSQL session did not load")
        })
        let update = try await Measurement.run(concurrency: 64, duration: options.duration) { task, iteration in
            var changed = sessions[task]
            changed.data = Data("{\"cart\":[\(iteration)]}".utf8)
            sessions[task] = try await store.save(changed, expectedVersion: changed.version)
        }
        record("update", "postgres", 64, update, note: "compare-and-set save alone", into: &results)

        // A cart update as an app with the default setup (a cache in front) serves it: a load,
        // a cache hit, then a compare-and-set save. Fluent's peer does readSession + updateSession.
        let carts = Array(tokens.dropFirst(64).prefix(64))
        for token in carts { _ = try await cached.load(token) }
        let cart = try await Measurement.run(concurrency: 64, duration: options.duration) { task, iteration in
            guard var session = try await cached.load(carts[task % carts.count]) else { throw BenchmarkFailure("a cart's session did not load") }
            session.data = Data("{\"cart\":[\(iteration)]}".utf8)
            _ = try await cached.save(session, expectedVersion: session.version)
        }
        record("cart update", "postgres + cache", 64, cart, note: "load (a cache hit) + compare-and-set save", into: &results)

        // Purge: sessions that expire, then one sweep.
        let shortLived = SessionPolicy(expiration: .absolute(.seconds(1)))
        let expiring = try PostgresSessionStore(configuration: configuration(server), policy: shortLived)
        let count = options.quick ? 2_000 : 50_000
        _ = try await Measurement.run(concurrency: 64, duration: .seconds(3600), limit: count) { task, _ in
            _ = try await expiring.create(userID: "purge\(task % 100)")
        }
        try await Task.sleep(for: .seconds(1.2))
        let started = ContinuousClock.now
        let purged = try await store.purgeExpired(limit: count * 2)
        let elapsed = ContinuousClock.now - started
        results.append(BenchmarkResult(workload: "purge", store: "postgres", concurrency: 1, operations: purged, elapsed: elapsed, latencies: LatencyRecorder(), note: "rows deleted in chunks of 1000, SKIP LOCKED"))
        options.report(results.last!)
        try await expiring.close()

        try await measureRevocation(store, server: server, into: &results)
        try await store.close()
    }

    /// Host A deletes a session host B's cache holds; how long until B refuses it.
    private func measureRevocation(_ a: PostgresSessionStore, server: PostgresServerProcess, into results: inout [BenchmarkResult]) async throws {
        let b = try CachedSessionStore(wrapping: PostgresSessionStore(configuration: configuration(server)))
        let samples = options.quick ? 30 : 500
        // Warm-up: B's listener connects in the background; until it has, a change reaches B
        // through the poll (a second). Measured once a revocation arrives by notification.
        let warmUp = ContinuousClock.now
        while ContinuousClock.now - warmUp < .seconds(10) {
            let issued = try await a.create(userID: "warm-up")
            _ = try await b.load(issued.token)
            _ = try await a.delete(issued.token)
            let sent = ContinuousClock.now
            while try await b.load(issued.token) != nil { try await Task.sleep(for: .milliseconds(1)) }
            if ContinuousClock.now - sent < .milliseconds(50) { break }
        }
        var latencies = LatencyRecorder(capacity: samples)
        let started = ContinuousClock.now
        for _ in 0..<samples {
            let issued = try await a.create(userID: "roaming")
            guard try await b.load(issued.token) != nil else { throw BenchmarkFailure("host B did not load the session") }
            _ = try await a.delete(issued.token)
            let clock = ContinuousClock()
            let start = clock.now
            while try await b.load(issued.token) != nil {
                guard clock.now - start < .seconds(10) else { throw BenchmarkFailure("host B served a deleted session for 10 s") }
                await Task.yield()
            }
            latencies.record(clock.now - start)
        }
        results.append(BenchmarkResult(
            workload: "revocation across hosts", store: "postgres + cache", concurrency: 1,
            operations: samples, elapsed: ContinuousClock.now - started, latencies: latencies,
            note: "delete returned on A → B's cache refuses the token (LISTEN/NOTIFY)"
        ))
        options.report(results.last!)
        try await b.close()
    }

    private func changeCount(_ store: PostgresSessionStore) async throws -> Int {
        var count = 0
        for try await value in try await store.client.query("SELECT count(*) FROM session_changes").decode(Int64.self) { count = Int(value) }
        return count
    }

    /// The naive peer: a table keyed by the token, a SELECT and an UPDATE of its expiry on every
    /// request (what connect-pg-simple does unless touch is turned off).
    private func measureNaive(on server: PostgresServerProcess, into results: inout [BenchmarkResult]) async throws {
        var configuration = try configuration(server).client
        configuration.options.maximumConnections = 64
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "naive", factory: { _ in SwiftLogNoOpLogHandler() }))
        let running = Task { await client.run() }
        defer { running.cancel() }
        _ = try await client.query("CREATE TABLE naive_sessions (sid text PRIMARY KEY, sess text NOT NULL, expire timestamptz NOT NULL)")
        let payload = String(decoding: options.payload, as: UTF8.self)
        let created = SessionBox<[String]>(Array(repeating: [], count: 64))
        let create = try await Measurement.run(concurrency: 64, duration: options.duration) { task, _ in
            let sid = SessionToken.generate().stringValue
            _ = try await client.query("INSERT INTO naive_sessions VALUES (\(sid), \(payload), now() + interval '30 minutes')")
            created[task].append(sid)
        }
        record("create", "naive postgres", 64, create, into: &results)
        let sids = (0..<64).flatMap { created[$0] }
        let load = try await Measurement.run(concurrency: 64, duration: options.duration) { task, iteration in
            let sid = sids[(task &* 104_729 &+ iteration &* 7919) % sids.count]
            var found = false
            for try await _ in try await client.query("SELECT sess FROM naive_sessions WHERE sid = \(sid) AND expire > now()") { found = true }
            guard found else { throw BenchmarkFailure("a naive session did not load") }
            _ = try await client.query("UPDATE naive_sessions SET expire = now() + interval '30 minutes' WHERE sid = \(sid)")
        }
        record("load", "naive postgres", 64, load, note: "SELECT + UPDATE expire per request", into: &results)
    }

    /// Fluent's sessions on the same server (`tools/fluent-peer bench-postgres`, its own package,
    /// built on first use): create, load and cart update from 64 tasks over 64 connections.
    private func measureFluent(on server: PostgresServerProcess, into results: inout [BenchmarkResult]) async throws {
        guard !options.quick else { throw SkippedWorkload("not built in --quick mode") }
        let binary = try FluentPeer.locate()
        let seconds = max(2, Int(options.duration.components.seconds))
        let child = try ChildProcess(
            binary, ["bench-postgres", server.url, "\(seconds)", "64", "\(options.payload.count)"],
            standardOutput: .pipe, standardError: .pipe
        )
        let (output, errors) = try child.collectOutput()
        let status = child.wait().status
        guard status == 0 else {
            throw BenchmarkFailure("fluent-peer bench-postgres exited with \(status): \(String(decoding: errors, as: UTF8.self).suffix(300))")
        }
        let notes = [
            "create": "createSession (an INSERT through Fluent)",
            "load miss": "readSession (a SELECT by key; Fluent keeps no expiry to slide)",
            "cart update": "readSession + updateSession, as SessionsMiddleware does",
        ]
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") where line.hasPrefix("ROW ") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 7, let concurrency = Int(fields[2]), let operations = Int(fields[3]), let elapsed = Double(fields[4]),
                  let p50 = Double(fields[5]), let p99 = Double(fields[6])
            else { throw BenchmarkFailure("fluent-peer printed a row sessionbench cannot read: \(line.prefix(120))") }
            let workload = ["load": "load miss", "update": "cart update"][fields[1]] ?? fields[1]
            results.append(BenchmarkResult(
                workload: workload, store: "fluent postgres", concurrency: concurrency, operations: operations, seconds: elapsed,
                p50Microseconds: p50, p99Microseconds: p99, note: notes[workload]
            ))
            options.report(results.last!)
        }
    }

    /// pgbench running `SELECT 1` on the same server: what one round trip costs, the limit for a
    /// load miss (one SELECT by a unique key). Beside it, the same statement through postgres-nio's
    /// pool, as the store sends it: what the Swift client adds to a round trip.
    private func measurePgbench(on server: PostgresServerProcess, into results: inout [BenchmarkResult]) async throws {
        var clientConfiguration = try configuration(server).client
        clientConfiguration.options.maximumConnections = 64
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: Logger(label: "floor", factory: { _ in SwiftLogNoOpLogHandler() }))
        let running = Task { await client.run() }
        for concurrency in [1, 64] {
            let outcome = try await Measurement.run(concurrency: concurrency, duration: options.duration) { _, _ in
                for try await _ in try await client.query("SELECT 1") {}
            }
            record("postgres-nio SELECT 1", "postgres", concurrency, outcome, note: "the Swift client's own round trip (extended protocol, pooled connection)", into: &results)
        }
        running.cancel()

        let script = server.directory.appendingPathComponent("select1.sql")
        try Data("SELECT 1;\n".utf8).write(to: script)
        let seconds = options.quick ? 1 : max(2, Int(options.duration.components.seconds))
        for concurrency in [1, 64] {
            let child = try ChildProcess(
                "\(server.bin)/pgbench",
                ["-n", "-f", script.path, "-c", "\(concurrency)", "-j", "\(min(concurrency, 2))", "-T", "\(seconds)",
                 "-h", "127.0.0.1", "-p", "\(server.port)", "-U", "postgres", "postgres"],
                standardOutput: .pipe, standardError: .pipe
            )
            let (output, _) = try child.collectOutput()
            _ = child.wait()
            let text = String(decoding: output, as: UTF8.self)
            guard let tps = Self.number(after: "tps = ", in: text), let latency = Self.number(after: "latency average = ", in: text) else {
                throw BenchmarkFailure("pgbench printed no rate: \(text.prefix(200))")
            }
            results.append(BenchmarkResult(
                workload: "pgbench SELECT 1", store: "postgres", concurrency: concurrency,
                operations: Int(tps * Double(seconds)), seconds: Double(seconds),
                p50Microseconds: latency * 1000, p99Microseconds: latency * 1000,
                note: "\(concurrency) connection\(concurrency == 1 ? "" : "s"), the limit for a load miss (latency: pgbench's average)"
            ))
            options.report(results.last!)
        }
    }

    private static func number(after marker: String, in text: String) -> Double? {
        guard let range = text.range(of: marker) else { return nil }
        return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
    #endif
}

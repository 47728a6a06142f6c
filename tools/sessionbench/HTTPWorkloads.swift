import ChildProcesses
import Foundation

/// The web workloads: wrk on loopback against the same three routes (an authenticated page view,
/// a cart update, a login) served by this package's store, durable SQLite with the memory cache
/// in front, and by each framework's own sessions, in one run:
///
/// - Hummingbird: the sample site (`HummingbirdSessions`) and hummingbird-auth's
///   `SessionMiddleware` over `MemoryPersistDriver`;
/// - Vapor: `vapor-sample-site` with the store (`app.sessions.use(.store(…))`) and with Vapor's
///   memory sessions, and Fluent's SQLite sessions (`tools/fluent-peer`, a package of its own,
///   built here unless `--quick`).
///
/// This package's sites check CSRF tokens on every post, as they would in production; the cart
/// updates send each session's token (read from its page) in `X-CSRF-Token`. The peers have no
/// CSRF protection and ignore the header.
///
/// Store rows written are counted on each side: this store's change log, which every write
/// appends to; the peers' own counters of driver writes.
struct HTTPWorkloads {
    let options: BenchmarkOptions

    /// One web server under test.
    struct Server {
        /// The executable, built with the traits it needs.
        var executable: String
        /// The store column of the table.
        var label: String
        var durability: String?
        var environment: [String: String] = [:]
        var arguments: (Int) -> [String] = { ["--port", "\($0)"] }
        /// Store rows written so far.
        var rowsWritten: (_ port: Int, _ directory: URL) async throws -> Int
    }

    func run(into results: inout [BenchmarkResult]) async throws {
        guard options.includes("http") else { return }
        guard Wrk.isInstalled else {
            emit("  http: skipped: wrk is not installed (tools/setup installs it)")
            return
        }
        let binaries = try HTTPBinaries.locate(names: ["sample-site", "hummingbird-auth-peer", "vapor-sample-site"], buildIfMissing: !options.quick)
        let changeLog: (Int, URL) async throws -> Int = { _, directory in try Self.changeLogRows(directory.appendingPathComponent("site.sqlite").path) }
        let peerCounter: (Int, URL) async throws -> Int = { port, _ in
            Int(try await LoopbackHTTP.request("GET", port: port, "/_writes").body.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        var servers = [
            Server(
                executable: binaries["sample-site"]!,
                label: "hummingbird + sqlite",
                durability: "full",
                environment: ["SESSION_DURABILITY": "full"],
                rowsWritten: changeLog
            ),
            Server(executable: binaries["hummingbird-auth-peer"]!, label: "hummingbird-auth memory", rowsWritten: peerCounter),
            Server(
                executable: binaries["vapor-sample-site"]!,
                label: "vapor + sqlite",
                durability: "full",
                environment: ["SESSION_DURABILITY": "full"],
                arguments: { ["--sessions", "store", "--port", "\($0)"] },
                rowsWritten: changeLog
            ),
            Server(
                executable: binaries["vapor-sample-site"]!,
                label: "vapor memory",
                arguments: { ["--sessions", "memory", "--port", "\($0)"] },
                rowsWritten: peerCounter
            ),
        ]
        if options.quick {
            emit("  http: the Fluent peer is not built in --quick mode")
        } else {
            servers.append(Server(executable: try FluentPeer.locate(), label: "vapor + fluent sqlite", rowsWritten: peerCounter))
        }
        for server in servers {
            try await measure(server, into: &results)
        }
    }

    /// Page views, cart updates and logins against one server, which starts fresh for the run.
    func measure(_ server: Server, into results: inout [BenchmarkResult]) async throws {
        let directory = try options.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var environment = server.environment
        environment["SESSION_DB"] = directory.appendingPathComponent("site.sqlite").path
        environment["LOG_LEVEL"] = "warning"
        let process = try await LocalServerProcess(
            server.executable,
            environment: environment,
            standardError: .inherit,
            arguments: server.arguments,
            ready: { port in (try? await LoopbackHTTP.request("GET", port: port, "/"))?.status == 200 }
        )
        do {
            try await measure(server, at: process, in: directory, into: &results)
        } catch {
            await process.stop()
            throw error
        }
        await process.stop()
    }

    private func measure(_ server: Server, at process: LocalServerProcess, in directory: URL, into results: inout [BenchmarkResult]) async throws {
        let port = process.port
        let wrk = Wrk(directory: directory)
        let seconds = options.httpSeconds

        // Signed-in sessions for the page views and cart updates, round robin over 100 of them,
        // each with the CSRF token its page carries (none from the peers).
        var sessions: [Wrk.Session] = []
        for index in 0..<100 {
            let user = ["alice", "bob", "carol"][index % 3]
            let response = try await LoopbackHTTP.request(
                "POST", port: port, "/login",
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: "user=\(user)&password=demo"
            )
            guard let cookie = response.values(of: "Set-Cookie").first?.split(separator: ";").first.map(String.init) else {
                throw BenchmarkFailure("\(server.label): a login set no cookie (status \(response.status))")
            }
            let page = try await LoopbackHTTP.request("GET", port: port, "/", headers: ["Cookie": cookie])
            sessions.append(Wrk.Session(cookie: cookie, csrfToken: Self.csrfToken(in: page.body)))
        }
        let pageView = Wrk.Request(method: "GET", path: "/", body: nil, sessions: sessions)
        _ = try wrk.run(pageView, port: port, seconds: 1)

        let workloads: [(name: String, request: Wrk.Request)] = [
            ("http page view", pageView),
            ("http cart update", Wrk.Request(method: "POST", path: "/cart", body: "item=book", sessions: sessions)),
            ("http login", Wrk.Request(method: "POST", path: "/login", body: "user=alice&password=demo", sessions: [])),
        ]
        for workload in workloads {
            let before = try await server.rowsWritten(port, directory)
            let figures = try wrk.run(workload.request, port: port, seconds: seconds)
            let written = try await server.rowsWritten(port, directory) - before
            guard figures.errors == 0, figures.bad_status == 0 else {
                throw BenchmarkFailure("\(server.label) \(workload.name): \(figures.errors) socket errors, \(figures.bad_status) responses with status ≥ 400")
            }
            var extra = ["rowsWritten": Double(written), "requests": Double(figures.requests)]
            var note = String(format: "%.1f store rows written per 1000 requests", Double(written) * 1000 / Double(max(figures.requests, 1)))
            if workload.name == "http page view", let peak = process.peakResidentKilobytes() {
                extra["peakRSSKiB"] = Double(peak)
                note += "; server peak RSS \(peak / 1024) MiB"
            }
            results.append(BenchmarkResult(
                workload: workload.name, store: server.label, concurrency: 32, durability: server.durability,
                operations: figures.requests, seconds: figures.duration_us / 1e6,
                p50Microseconds: figures.p50_us, p99Microseconds: figures.p99_us,
                note: note, extra: extra
            ))
            options.report(results.last!)
        }
    }

    /// The value of the page's first `_csrf` field; nil when its forms carry none.
    static func csrfToken(in html: String) -> String? {
        guard let field = html.range(of: #"name="_csrf" value=""#) else { return nil }
        let rest = html[field.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    /// Change-log entries of the store at `path`: one per session write (a rotation writes two
    /// entries for one row, counted once).
    static func changeLogRows(_ path: String) throws -> Int {
        let connection = try RawConnection(path: path)
        let statement = try connection.prepare("SELECT count(*) FROM session_changes WHERE kind <> 'rotated_out'")
        _ = try statement.step()
        return Int(statement.int64(0))
    }
}

/// The Fluent peer: its own package in `tools/fluent-peer`, built in release mode into
/// `.build-fluent` the first time (minutes: Vapor, Fluent and SQLite from source).
enum FluentPeer {
    static func locate() throws -> String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        guard let root = HTTPBinaries.packageRoot(from: here) else { throw BenchmarkFailure("cannot find the package root from \(here.path)") }
        let scratch = root.appendingPathComponent(".build-fluent")
        let binary = scratch.appendingPathComponent("release/fluent-peer").path
        let swift = ChildProcess.find("swift") ?? "swift"
        emit("  (building tools/fluent-peer in release mode into \(scratch.path); the first time takes minutes)")
        let child = try ChildProcess(
            swift,
            ["build", "-c", "release", "--package-path", root.appendingPathComponent("tools/fluent-peer").path, "--scratch-path", scratch.path],
            environment: ProcessInfo.processInfo.environment, standardInput: .null, standardOutput: .null, standardError: .inherit
        )
        guard child.wait() == .exited(0), FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchmarkFailure("building tools/fluent-peer failed")
        }
        return binary
    }
}

/// Finds the web servers the HTTP workloads drive. They need package traits, which a plain
/// `swift run -c release sessionbench` does not turn on: then they are built once, in release
/// mode with every trait, into `.build-http` beside `.build`, so the benchmark's own build is
/// left alone.
enum HTTPBinaries {
    static func locate(names: [String], buildIfMissing: Bool) throws -> [String: String] {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if let found = usable(names, in: here) { return found }
        guard buildIfMissing, let root = packageRoot(from: here) else {
            throw BenchmarkFailure("\(names.joined(separator: ", ")) next to sessionbench are not built with their traits; build with --enable-all-traits")
        }
        let scratch = root.appendingPathComponent(".build-http")
        emit("  (building \(names.joined(separator: ", ")) in release mode with every trait into \(scratch.path); the first time takes minutes)")
        let swift = ChildProcess.find("swift") ?? "swift"
        var arguments = ["build", "-c", "release", "--enable-all-traits", "--package-path", root.path, "--scratch-path", scratch.path]
        for name in names { arguments += ["--product", name] }
        let child = try ChildProcess(swift, arguments, environment: ProcessInfo.processInfo.environment, standardInput: .null, standardOutput: .null, standardError: .inherit)
        guard child.wait() == .exited(0) else { throw BenchmarkFailure("building \(names) failed") }
        let built = scratch.appendingPathComponent("release")
        guard let found = usable(names, in: built) else { throw BenchmarkFailure("\(names) built but do not run in \(built.path)") }
        return found
    }

    /// The paths of `names` in `directory` if each is there and was built with its traits
    /// (`--help` succeeds; without the traits they say so and fail).
    private static func usable(_ names: [String], in directory: URL) -> [String: String]? {
        var paths: [String: String] = [:]
        for name in names {
            let path = directory.appendingPathComponent(name).path
            guard FileManager.default.isExecutableFile(atPath: path),
                let child = try? ChildProcess(path, ["--help"], environment: [:], standardInput: .null, standardOutput: .null, standardError: .null),
                child.wait() == .exited(0)
            else { return nil }
            paths[name] = path
        }
        return paths
    }

    static func packageRoot(from directory: URL) -> URL? {
        var url = directory
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return nil
    }
}

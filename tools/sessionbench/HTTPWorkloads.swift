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
        guard Wrk.isInstalled else { throw SkippedWorkload("wrk is not installed (tools/setup installs it)") }
        let names = ["sample-site", "hummingbird-auth-peer", "vapor-sample-site"]
        var binaries: [String: String] = [:]
        for (index, name) in names.enumerated() {
            binaries[name] = try HTTPBinaries.locate(name, building: !options.quick, progress: "\(index + 1) of \(names.count)")
        }
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
            emit("  http: the Fluent peer is not built in --quick mode; a full run builds it once")
        } else {
            do {
                servers.append(Server(executable: try FluentPeer.locate(), label: "vapor + fluent sqlite", rowsWritten: peerCounter))
            } catch {
                emit("  http: vapor + fluent sqlite: skipped: \(error)")
            }
        }
        for server in servers {
            do {
                try await measure(server, into: &results)
            } catch {
                emit("  http: \(server.label): skipped: \(error)")
            }
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
/// `.build-fluent` the first time (about 15 minutes on two cores: Vapor, Fluent and SQLite from
/// source), found there afterwards.
enum FluentPeer {
    static func locate() throws -> String {
        guard let root = HTTPBinaries.packageRoot() else { throw BenchmarkFailure("cannot find the package root from \(CommandLine.arguments[0])") }
        let scratch = root.appendingPathComponent(".build-fluent")
        let binary = scratch.appendingPathComponent("release/fluent-peer").path
        try HTTPBinaries.build(
            "fluent-peer",
            arguments: ["build", "-c", "release", "--package-path", root.appendingPathComponent("tools/fluent-peer").path, "--scratch-path", scratch.path],
            into: scratch, firstTime: "about 15 minutes on two cores"
        )
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw BenchmarkFailure("building tools/fluent-peer made no \(binary)") }
        return binary
    }
}

/// Finds the web servers the HTTP workloads drive. They need package traits, which a plain
/// `swift run -c release sessionbench` does not turn on, so they are found next to sessionbench
/// only when it was built with every trait; otherwise in `.build/release` or `.build-http/release`,
/// where an earlier run (or `swift build -c release --enable-all-traits`) put them; otherwise a full
/// run builds each one, one product per `swift build` (SwiftPM builds only the last of several
/// `--product` options), into `.build-http`, so the benchmark's own build is left alone.
enum HTTPBinaries {
    static func locate(_ name: String, building: Bool, progress: String) throws -> String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let root = packageRoot()
        let scratch = root?.appendingPathComponent(".build-http")
        let places = [here, root?.appendingPathComponent(".build/release"), scratch?.appendingPathComponent("release")].compactMap { $0 }
        if let found = places.lazy.map({ $0.appendingPathComponent(name).path }).first(where: isUsable) { return found }
        guard building else {
            throw SkippedWorkload(
                "\(name) is not built with its package traits; a run without --quick builds the web servers once into .build-http"
                    + " (about 10 minutes on two cores), or build them yourself: swift build -c release --enable-all-traits --product \(name)"
            )
        }
        guard let root, let scratch else { throw BenchmarkFailure("cannot find the package root from \(here.path)") }
        emit("  http: web server \(progress): \(name)")
        try build(
            name,
            arguments: ["build", "-c", "release", "--enable-all-traits", "--package-path", root.path, "--scratch-path", scratch.path, "--product", name],
            into: scratch, firstTime: "about 10 minutes on two cores for the first, a minute for each after it"
        )
        let built = scratch.appendingPathComponent("release/\(name)").path
        guard isUsable(built) else { throw BenchmarkFailure("\(name) was built but does not run: \(built) --help failed") }
        return built
    }

    /// Runs `swift` with `arguments`, saying what it builds, how long the first time takes, and
    /// how long it took.
    static func build(_ name: String, arguments: [String], into scratch: URL, firstTime: String) throws {
        let first = !FileManager.default.fileExists(atPath: scratch.appendingPathComponent("release").path)
        emit("  (building \(name) in release mode into \(scratch.path)\(first ? "; the first build takes \(firstTime)" : ""))")
        let started = ContinuousClock.now
        let swift = ChildProcess.find("swift") ?? "swift"
        let child = try ChildProcess(swift, arguments, environment: ProcessInfo.processInfo.environment, standardInput: .null, standardOutput: .null, standardError: .inherit)
        guard child.wait() == .exited(0) else { throw BenchmarkFailure("building \(name) failed (swift \(arguments.joined(separator: " ")))") }
        emit("  (built \(name) in \(Int((ContinuousClock.now - started).seconds)) s)")
    }

    /// Whether the executable at `path` is there and was built with its traits (`--help`
    /// succeeds; without the traits it says so and fails).
    private static func isUsable(_ path: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: path),
            let child = try? ChildProcess(path, ["--help"], environment: [:], standardInput: .null, standardOutput: .null, standardError: .null)
        else { return false }
        return child.wait() == .exited(0)
    }

    /// The folder with Package.swift above the sessionbench executable.
    static func packageRoot() -> URL? {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return nil
    }
}

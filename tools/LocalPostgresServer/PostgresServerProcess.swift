import ChildProcesses
public import Foundation

/// A PostgreSQL server of a test's or a benchmark's own: initdb in a temporary directory, pg_ctl on 127.0.0.1
/// at a free port, stopped by its PID. As root, the server runs as the postgres user.
public final class PostgresServerProcess: Sendable {
    public let directory: URL
    public let port: Int
    /// The folder of the PostgreSQL programs (initdb, pg_ctl, pgbench).
    public let bin: String

    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }
    private var data: String { directory.appendingPathComponent("data").path }

    private let settings: [String]

    private init(settings: [String], bin: String) {
        self.settings = settings
        self.bin = bin
        directory = URL(fileURLWithPath: "/tmp/sessions-pg-\(UUID().uuidString.prefix(8))")
        port = Int.random(in: 20_000..<60_000)
    }

    /// Initialises a cluster in a temporary directory and starts it.
    ///
    /// - Parameter settings: Extra server settings (`-c name=value`).
    public static func start(settings: [String] = []) async throws -> PostgresServerProcess {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }).last else {
            throw PostgresServerError("PostgreSQL is not installed (tools/setup installs it)")
        }
        let server = PostgresServerProcess(settings: settings, bin: "/usr/lib/postgresql/\(version)/bin")
        try FileManager.default.createDirectory(at: server.directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            try await run("/bin/chown", ["postgres", server.directory.path], asPostgres: false)
        }
        try await run("\(server.bin)/initdb", ["-D", server.data, "-A", "trust", "-U", "postgres", "--no-sync"])
        try await server.startServer()
        return server
    }

    private func startServer() async throws {
        try await Self.run("\(bin)/pg_ctl", [
            "-D", data, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "30",
            "-o", (["-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1"] + settings.map { "-c \($0)" }).joined(separator: " "), "start",
        ])
    }

    /// A fast shutdown (what a deploy or a failover does) and a start on the same port.
    public func restart() async throws {
        try await Self.run("\(bin)/pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"])
        try await startServer()
    }

    /// Stops the server by the PID in its postmaster.pid and removes its files.
    public func stop() {
        if let pidText = try? String(contentsOfFile: "\(data)/postmaster.pid", encoding: .utf8),
           let pid = pidText.split(separator: "\n").first.flatMap({ Int32($0) }) {
            kill(pid, SIGINT)
            for _ in 0..<100 where kill(pid, 0) == 0 { usleep(100_000) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a command to its end without blocking a cooperative thread; as root, the
    /// PostgreSQL programs run as the postgres user (initdb refuses root).
    static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = true) async throws {
        let child = asPostgres && getuid() == 0
            ? try ChildProcess("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
            : try ChildProcess(executable, arguments)
        let termination = await child.exit()
        guard termination.status == 0 else {
            throw PostgresServerError("\(executable) \(arguments.joined(separator: " ")) ended with \(termination)")
        }
    }
}

/// Why a private PostgreSQL server could not be started.
public struct PostgresServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

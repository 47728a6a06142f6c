import ChildProcesses
public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A redis-server started on 127.0.0.1 at a free port and stopped by its PID: for tests that
/// stop, kill or reconfigure a server (which the shared server of `tools/test` must not suffer),
/// and for `sessionbench`, which compares against Redis.
public final class RedisServerProcess: @unchecked Sendable {
    // Safe to send: `process` changes only in kill/stop/restart, which the owner (one test or the
    // benchmark) calls from one task at a time; the other properties never change.

    /// The port the server listens on; kept across restarts.
    public let port: Int
    /// The server's working directory (AOF and RDB files live here).
    public let directory: URL
    private let arguments: [String]
    private var process: ChildProcess?

    /// Starts a server.
    ///
    /// - Parameters:
    ///   - appendOnly: Persist writes to the append-only file, so a restart keeps the data.
    ///   - appendFsync: When the AOF is fsynced: `always` (every write) or `everysec`.
    ///   - arguments: More `redis-server` options, such as `["--requirepass", "secret"]`.
    public init(appendOnly: Bool = false, appendFsync: String = "always", arguments: [String] = []) throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var options = ["--bind", "127.0.0.1", "--dir", directory.path, "--save", "", "--daemonize", "no", "--logfile", "redis.log"]
        options += appendOnly ? ["--appendonly", "yes", "--appendfsync", appendFsync] : ["--appendonly", "no"]
        let arguments = options + arguments
        self.arguments = arguments
        for _ in 0..<20 {
            let candidate = Int.random(in: 20_000...60_000)
            if let process = try Self.launch(port: candidate, arguments: arguments) {
                self.port = candidate
                self.process = process
                return
            }
        }
        throw CocoaError(.featureUnsupported)
    }

    /// `redis://127.0.0.1:<port>`.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Kills the server with SIGKILL, as a crash would.
    public func kill() {
        guard let process else { return }
        process.signal(SIGKILL)
        _ = process.wait()
        self.process = nil
    }

    /// Stops the server with SIGTERM (SIGKILL if it is still running two seconds later).
    public func stop() {
        guard let process else { return }
        process.signal(SIGTERM)
        for _ in 0..<200 where process.isRunning {
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.signal(SIGKILL)
        _ = process.wait()
        self.process = nil
    }

    /// Starts the server again on the same port, keeping or wiping its data directory.
    public func restart(keepingData: Bool) throws {
        kill()
        if !keepingData {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where file != "redis.log" {
                try FileManager.default.removeItem(at: directory.appendingPathComponent(file))
            }
        }
        for _ in 0..<50 {
            if let process = try Self.launch(port: port, arguments: arguments) {
                self.process = process
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CocoaError(.fileWriteUnknown)
    }

    deinit {
        // Releasing the ChildProcess kills and reaps a server still running.
        process = nil
        try? FileManager.default.removeItem(at: directory)
    }

    /// The redis-server binary: found on `PATH` (tools/setup installs it).
    static var executable: String { ChildProcess.find("redis-server") ?? "/usr/bin/redis-server" }

    /// The process id, while the server runs.
    public var processIdentifier: Int32? { process?.processIdentifier }

    /// Starts redis-server and waits until it answers PING; nil when it exited (the port was taken).
    private static func launch(port: Int, arguments: [String]) throws -> ChildProcess? {
        let process = try ChildProcess(Self.executable, ["--port", String(port)] + arguments)
        for _ in 0..<100 {
            if !process.isRunning { return nil }
            if Self.answersPing(port: port) { return process }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil  // released: killed and reaped
    }

    /// Whether something on the port answers a RESP PING (or asks for authentication).
    private static func answersPing(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let ping = Array("PING\r\n".utf8)
        guard send(socket, ping, ping.count, 0) == ping.count else { return false }
        var reply = [UInt8](repeating: 0, count: 64)
        let received = recv(socket, &reply, reply.count, 0)
        guard received > 0 else { return false }
        let text = String(decoding: reply[..<received], as: UTF8.self)
        return text.hasPrefix("+PONG") || text.hasPrefix("-NOAUTH")
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server started on 127.0.0.1 at a free port and stopped by its PID, for tests and the benchmark.
///
/// Ports are picked at random and the server is asked to bind one; a server that exits before it
/// is ready lost the race for that port (or failed), and another port is tried.
public final class LocalServerProcess: Sendable {
    /// The port the server listens on.
    public let port: Int
    /// The server process.
    public let process: ChildProcess

    /// Starts `executable` and waits until `ready` answers true for its port.
    ///
    /// - Parameters:
    ///   - environment: Variables added to this process's environment.
    ///   - arguments: The arguments that make the server listen on a port.
    ///   - standardError: Where the server's standard error goes.
    ///   - ready: Whether the server on that port serves yet; polled every 50 ms for up to 30 s.
    public init(
        _ executable: String,
        environment: [String: String] = [:],
        standardError: ChildProcess.Stream = .null,
        arguments: (Int) -> [String],
        ready: (Int) async -> Bool
    ) async throws {
        var lastFailure = "no attempt made"
        for _ in 0..<10 {
            let port = Int.random(in: 20_000...60_000)
            let process = try ChildProcess(
                executable,
                arguments(port),
                environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                standardInput: .null,
                standardOutput: .null,
                standardError: standardError
            )
            for _ in 0..<600 where process.isRunning {
                if await ready(port) {
                    self.port = port
                    self.process = process
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            lastFailure = process.isRunning ? "not ready after 30 s" : "\(process.wait())"
            process.signal(SIGKILL)
            _ = await process.exit()
        }
        throw LocalServerError(description: "\(executable) did not start serving on 127.0.0.1: \(lastFailure)")
    }

    /// The most resident memory the server has had (`VmHWM` in `/proc`), in KiB.
    public func peakResidentKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// Stops the server: SIGTERM, then SIGKILL if it is still running 5 s later.
    public func stop() async {
        process.signal(SIGTERM)
        for _ in 0..<100 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { process.signal(SIGKILL) }
        _ = await process.exit()
    }
}

/// A local server did not start.
public struct LocalServerError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

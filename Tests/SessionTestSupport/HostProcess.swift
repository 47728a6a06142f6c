import ChildProcesses
public import Foundation
import Synchronization
public import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One host of a deployment that shares sessions (through one Redis, or one PostgreSQL
/// database): a `session-test-peer host` process, configured from the environment as an app is
/// (`SessionStoreFactory`), and driven by commands, one line each (see `HostCommands.swift`).
public final class HostProcess: Sendable {
    /// The host's replica name.
    public let name: String
    /// Its SQLite file, or empty for a host whose sessions live elsewhere.
    public let database: String
    private let environment: [String: String]
    private let process: Mutex<ChildProcess?>
    /// One command at a time: a command's answer is the next line.
    private let conversation = NSLock()

    /// Starts a host and waits until it is ready.
    ///
    /// - Parameters:
    ///   - environment: More variables (SESSION_SYNC_STREAM_LENGTH, ...) over the defaults.
    public convenience init(name: String, directory: URL, redisURL: String, prefix: String, environment: [String: String] = [:]) throws {
        let database = directory.appendingPathComponent("\(name).sqlite").path
        try self.init(name: name, database: database, environment: [
            "SESSION_DB": database,
            "SESSION_REPLICATE_TO": redisURL,
            "SESSION_SYNC": "true",
            "SESSION_REPLICA_NAME": name,
            "SESSION_KEY_PREFIX": prefix,
        ].merging(environment) { $1 })
    }

    /// Starts a host configured by `environment` alone (over this process's own), for stores
    /// that are not a local file: `SESSION_POSTGRES_URL`, for one.
    ///
    /// - Parameter database: The host's SQLite file, or empty when it has none.
    public init(name: String, database: String = "", environment: [String: String]) throws {
        self.name = name
        self.database = database
        self.environment = ProcessInfo.processInfo.environment.merging(["SESSION_SWEEP_INTERVAL": "0"].merging(environment) { $1 }) { $1 }
        self.process = Mutex(nil)
        try start()
    }

    /// Starts the process (again, after ``kill()``), on the same file.
    public func start() throws {
        let child = try ChildProcess(
            try product("session-test-peer"), ["host"], environment: environment,
            standardInput: .pipe, standardOutput: .pipe, standardError: .inherit
        )
        guard let ready = try child.readLine(timeout: .seconds(60)), ready.hasPrefix("ready") else {
            child.signal(SIGKILL)
            throw HostFailed(name: name, problem: "did not start")
        }
        process.withLock { $0 = child }
    }

    /// Sends one command and returns its answer.
    ///
    /// - Throws: When the host does not answer within a minute, or answers "error ...".
    @discardableResult
    public func send(_ command: String) async throws -> String {
        guard let child = process.withLock({ $0 }) else { throw HostFailed(name: name, problem: "is not running") }
        let answer: Result<String, any Error> = await withCheckedContinuation { continuation in
            Thread.detachNewThread { [conversation, name] in
                conversation.lock()
                defer { conversation.unlock() }
                do {
                    try child.writeLine(command)
                    guard let line = try child.readLine(timeout: .seconds(60)) else {
                        throw HostFailed(name: name, problem: "gave no answer to \(command.prefix(40))")
                    }
                    continuation.resume(returning: .success(line))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        let line = try answer.get()
        if line.hasPrefix("error ") { throw HostFailed(name: name, problem: "answered \(command.prefix(40)) with \(line)") }
        return line
    }

    /// Asks `command` until `accepts` likes the answer (what was changed elsewhere has arrived
    /// here), every 20 ms for up to a minute, and returns the last answer; records an issue when
    /// it never came. Tests wait this way, never asserting how long it took.
    @discardableResult
    public func eventually(
        _ command: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ accepts: (String) -> Bool
    ) async throws -> String {
        var answer = ""
        for _ in 0..<3000 {
            answer = try await send(command)
            if accepts(answer) { return answer }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("host \(name) still answers \(command.prefix(20))… with \"\(answer.prefix(80))\"", sourceLocation: sourceLocation)
        return answer
    }

    /// The host's health details.
    public func health() async throws -> [String: String] {
        let text = try await send("health")
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]) ?? [:]
    }

    /// Kills the process with SIGKILL, as a crash would.
    public func kill() {
        guard let child = process.withLock({ state in defer { state = nil }; return state }) else { return }
        child.signal(SIGKILL)
        _ = child.wait()
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the process.
    public func freeze(_ frozen: Bool) {
        process.withLock { $0?.signal(frozen ? SIGSTOP : SIGCONT) }
    }

    /// Shuts the host down gracefully and waits for it.
    public func quit() async {
        guard let child = process.withLock({ state in defer { state = nil }; return state }) else { return }
        try? child.writeLine("quit")
        _ = await child.exit()
    }

    public struct HostFailed: Error, CustomStringConvertible {
        public var name: String
        public var problem: String
        public var description: String { "host \(name) \(problem)" }
    }
}

public import Foundation
import ChildProcesses
import Testing

/// The outcome of a finished child process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String

    public init(status: Int32, standardOutput: String, standardError: String) {
        self.status = status
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}

/// Runs `executable` to completion and captures its output.
///
/// - Parameters:
///   - executable: An absolute path, or a name looked up in `PATH`.
///   - arguments: Its arguments.
///   - input: Text written to its standard input, which is then closed.
///   - environment: Extra environment variables.
public func run(
    _ executable: String,
    _ arguments: [String] = [],
    input: String? = nil,
    environment: [String: String] = [:]
) throws -> ProcessResult {
    let child = try ChildProcess(
        executable,
        arguments,
        environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
        standardInput: .pipe,
        standardOutput: .pipe,
        standardError: .pipe
    )
    let (output, error) = try child.collectOutput(input: Array((input ?? "").utf8))
    return ProcessResult(
        status: child.wait().status,
        standardOutput: String(decoding: output, as: UTF8.self),
        standardError: String(decoding: error, as: UTF8.self)
    )
}

/// Runs the `sqlite3` shell on `database` with `sql` on its standard input.
public func sqlite3(_ database: String, _ sql: String, options: [String] = []) throws -> ProcessResult {
    try run("sqlite3", options + [database], input: sql)
}

/// Where SwiftPM put the executables of this package: next to the test bundle.
public var productsDirectory: URL {
    if let override = ProcessInfo.processInfo.environment["SESSIONS_PRODUCTS_DIR"] {
        return URL(fileURLWithPath: override)
    }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("sessionctl").path) {
        url.deleteLastPathComponent()
    }
    return url
}

/// The path of one of this package's executables, which the test run must have built.
public func product(_ name: String) throws -> String {
    let path = productsDirectory.appendingPathComponent(name).path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw ProductMissing(name: name, directory: productsDirectory.path)
    }
    return path
}

/// A package executable was not built; run `swift build` (tools/test does) before the tests.
public struct ProductMissing: Error, CustomStringConvertible {
    public var name: String
    public var directory: String
    public var description: String { "\(name) is not built in \(directory); run `swift build` first (tools/test does)" }
}

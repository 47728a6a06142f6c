public import Foundation
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
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try resolve(executable))
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    let error = Pipe()
    let stdin = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
    let errorData = AsyncDataReader(error.fileHandleForReading)
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        standardOutput: String(decoding: outputData, as: UTF8.self),
        standardError: String(decoding: errorData.wait(), as: UTF8.self)
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

private func resolve(_ executable: String) throws -> String {
    if executable.hasPrefix("/") { return executable }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(executable)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable])
}

/// Reads a file handle to its end on a background thread.
private final class AsyncDataReader: @unchecked Sendable {
    // Safe: `data` is written once by the reading thread before `done` is signalled and read
    // only after `wait()` has seen that signal.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

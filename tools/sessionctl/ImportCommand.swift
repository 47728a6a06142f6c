import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `sessionctl import`: sessions from JSON lines, as `export` writes them.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store the sessions of a JSON-lines file (as written by export).",
        discussion: """
            Streams the file and commits one transaction per batch. Idempotent: a session already \
            present with the same contents is left alone, one with other contents is replaced. A bad \
            line is reported with its number and skipped, or stops the import with --strict. Exits 1 \
            when any line was rejected.
            """
    )

    @OptionGroup var options: StoreOptions

    @Argument(help: "The JSON-lines file.")
    var file: String

    @Flag(help: "Stop at the first bad line instead of skipping it.")
    var strict = false

    @Option(help: "Sessions per transaction.")
    var batch = 1000

    struct Report: Codable {
        var lines: Int
        var inserted: Int
        var replaced: Int
        var unchanged: Int
        var rejected: [Rejection]
        var stopped: Bool
    }

    struct Rejection: Codable {
        var line: Int
        var reason: String
    }

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() async throws {
        guard let input = FileHandle(forReadingAtPath: file) else {
            throw SessionStoreError(.notFound, "cannot read \(file)")
        }
        defer { try? input.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        let store = try options.open(create: true)
        let progress = ProgressReporter(total: size, on: .standardError)
        var report = Report(lines: 0, inserted: 0, replaced: 0, unchanged: 0, rejected: [], stopped: false)
        var pending: [Session] = []
        var bytesRead = 0

        func flush() async throws {
            guard !pending.isEmpty else { return }
            for outcome in try await store.importSessions(pending) {
                switch outcome {
                case .inserted: report.inserted += 1
                case .replaced: report.replaced += 1
                case .unchanged: report.unchanged += 1
                }
            }
            pending.removeAll(keepingCapacity: true)
        }

        var lines = JSONLines(input)
        while let (number, line) = try lines.next() {
            report.lines = number
            bytesRead += line.count + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            do throws(SessionStoreError) {
                let session = try SessionRecord.decode(String(decoding: line, as: UTF8.self)).session()
                try store.policy.validate(session)
                pending.append(session)
            } catch {
                report.rejected.append(Rejection(line: number, reason: error.message))
                FileHandle.standardError.write(Data("\(file):\(number): \(error.message)\n".utf8))
                if strict {
                    report.stopped = true
                    break
                }
            }
            if pending.count >= batch {
                try await flush()
                progress.update(done: min(bytesRead, size), label: "importing bytes")
            }
        }
        if !report.stopped { try await flush() }
        progress.update(done: size, label: "importing bytes")
        progress.finish()
        try await store.close()

        if options.json {
            try printJSON(report)
        } else {
            print("""
                \(file): \(Format.count(report.lines)) lines; \(Format.count(report.inserted)) inserted, \
                \(Format.count(report.replaced)) replaced, \(Format.count(report.unchanged)) unchanged, \
                \(Format.count(report.rejected.count)) rejected\(report.stopped ? "; stopped at line \(report.lines) (--strict)" : "")
                """)
        }
        if !report.rejected.isEmpty { throw CtlExit.notFound }
    }
}

/// Reads a file line by line in chunks, so memory stays flat however large the file.
struct JSONLines {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var number = 0
    private var finished = false

    init(_ handle: FileHandle) {
        self.handle = handle
    }

    /// The next line (without its newline) and its 1-based number; nil at the end.
    mutating func next() throws -> (Int, ArraySlice<UInt8>)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<newline]
                start = newline + 1
                number += 1
                return (number, line)
            }
            if finished {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                number += 1
                return (number, line)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { finished = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `sessionctl export`: every session as JSON lines on standard output.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every session as one JSON line each to standard output.",
        discussion: """
            sessionctl export > sessions.jsonl. The lines are read from one consistent snapshot, one \
            row at a time, so memory stays flat for millions of sessions. Progress goes to standard error.
            """
    )

    @OptionGroup var options: StoreOptions

    @Flag(help: "Leave out sessions that expired but are not purged yet.")
    var activeOnly = false

    func run() async throws {
        let store = try options.openForReading()
        let total = try await store.count(includeExpired: !activeOnly)
        let progress = ProgressReporter(total: total, on: .standardError)
        var buffer = Data()
        buffer.reserveCapacity(1 << 17)
        var written = 0
        try store.forEachSession(includeExpired: !activeOnly) { session in
            buffer.append(contentsOf: SessionRecord(session).encoded().utf8)
            buffer.append(UInt8(ascii: "\n"))
            written += 1
            if buffer.count >= 1 << 16 {
                FileHandle.standardOutput.write(buffer)
                buffer.removeAll(keepingCapacity: true)
                progress.update(done: written, label: "exporting")
            }
        }
        FileHandle.standardOutput.write(buffer)
        progress.update(done: written, label: "exporting")
        progress.finish()
        try await store.close()
        FileHandle.standardError.write(Data("exported \(Format.count(written)) sessions from \(options.path)\n".utf8))
        if written == 0 { throw CtlExit.notFound }
    }
}

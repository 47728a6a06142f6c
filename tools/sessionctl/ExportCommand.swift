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
            row at a time, so memory stays flat for millions of sessions. Progress goes to standard error. \
            Sealed data stays sealed (base64) in the export, keys or not, unless --decrypt is given; \
            import keeps it sealed, so the target needs the same keys.
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: KeyOptions

    @Flag(help: "Leave out sessions that expired but are not purged yet.")
    var activeOnly = false

    @Flag(help: "Write sealed data opened, as plain JSON (needs the keys).")
    var decrypt = false

    func run() async throws {
        let encryption = try keys.encryption()
        if decrypt, encryption == nil {
            throw SessionStoreError(.configurationError, "--decrypt needs the keys: pass --keys id:base64,… or set SESSION_ENCRYPTION_KEYS")
        }
        if !decrypt, keys.keys != nil {
            throw ValidationError("export writes sealed data as it is stored, so --keys is only used with --decrypt (which writes it opened)")
        }
        let store = try options.openForReading(policy: SessionPolicy(encryption: decrypt ? encryption : nil))
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

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
            present with the same contents is left alone, one with other contents is replaced. Every \
            record is checked against the rules verify and the schema enforce (version at least 1, \
            plausible times, a positive idle timeout, the policy's size limits) before it is written. \
            A bad line is reported with its number and reason and skipped; with --strict the whole \
            file is checked first and nothing is imported (the database is not even opened) unless \
            every line is good. Exits 1 when any line was rejected.
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "The JSON-lines file.")
    var file: String

    @Flag(help: "Import nothing, leaving the database untouched, unless every line is good.")
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

    /// The report as the import goes, shared by the reading loop and the batches it hands over.
    final class Tally {
        var report = Report(lines: 0, inserted: 0, replaced: 0, unchanged: 0, rejected: [], stopped: false)
    }

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() async throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        let policy = try keys.policy()
        var tally = Tally()

        // --strict reads the whole file first, and opens the database only when every line is good.
        if strict {
            try await forEachSession(policy: policy, tally: tally) { _, _ in }
            guard tally.report.rejected.isEmpty else {
                tally.report.stopped = true
                try finish(tally.report)
                return
            }
            tally = Tally()
        }

        let store = try options.open(policy: policy, create: true)
        let progress = ProgressReporter(total: size, on: .standardError)
        do {
            var pending: [(line: Int, session: Session)] = []
            var bytes = 0
            try await forEachSession(policy: policy, tally: tally) { line, session in
                pending.append((line.number, session))
                bytes += line.length + 1
                if pending.count >= batch {
                    try await importBatch(pending, into: store, tally: tally)
                    pending.removeAll(keepingCapacity: true)
                    progress.update(done: min(bytes, size), label: "importing bytes")
                }
            }
            try await importBatch(pending, into: store, tally: tally)
        } catch {
            try? await store.close()
            throw error
        }
        progress.update(done: size, label: "importing bytes")
        progress.finish()
        try await store.close()
        try finish(tally.report)
    }

    /// Decodes and checks every line, reporting the bad ones, and hands over the good ones.
    private func forEachSession(
        policy: SessionPolicy,
        tally: Tally,
        _ body: (_ line: (number: Int, length: Int), _ session: Session) async throws -> Void
    ) async throws {
        guard let input = FileHandle(forReadingAtPath: file) else {
            throw SessionStoreError(.notFound, "cannot read \(file)")
        }
        defer { try? input.close() }
        var lines = SessionRecordLines(input)
        while let line = try lines.next() {
            tally.report.lines = line.number
            let session: Session
            do throws(SessionStoreError) {
                guard let decoded = try SessionRecordLines.session(from: line.bytes, policy: policy) else { continue }
                session = decoded
            } catch {
                reject(line.number, error.message, tally: tally)
                continue
            }
            try await body((line.number, line.bytes.count), session)
        }
    }

    /// Imports a batch in one transaction. Should the store still refuse one of its sessions,
    /// each is imported alone, so that only the lines at fault are rejected.
    private func importBatch(_ batch: [(line: Int, session: Session)], into store: SQLiteSessionStore, tally: Tally) async throws {
        guard !batch.isEmpty else { return }
        do {
            count(try await store.importSessions(batch.map(\.session)), in: tally)
        } catch let error as SessionStoreError where Self.faultOfTheRecord.contains(error.code) && batch.count > 1 {
            for (line, session) in batch {
                do {
                    count(try await store.importSessions([session]), in: tally)
                } catch let error as SessionStoreError where Self.faultOfTheRecord.contains(error.code) {
                    reject(line, error.message, tally: tally)
                }
            }
        } catch let error as SessionStoreError where Self.faultOfTheRecord.contains(error.code) {
            reject(batch[0].line, error.message, tally: tally)
        }
    }

    /// Errors that a record causes; any other (a full disk, a read-only file) stops the import.
    private static let faultOfTheRecord: Set<SessionStoreError.Code> = [.invalidArgument, .payloadTooLarge, .decryptionFailed]

    private func count(_ outcomes: [SQLiteSessionStore.ImportOutcome], in tally: Tally) {
        for outcome in outcomes {
            switch outcome {
            case .inserted: tally.report.inserted += 1
            case .replaced: tally.report.replaced += 1
            case .unchanged: tally.report.unchanged += 1
            }
        }
    }

    private func reject(_ line: Int, _ reason: String, tally: Tally) {
        tally.report.rejected.append(Rejection(line: line, reason: reason))
        FileHandle.standardError.write(Data("\(file):\(line): \(reason)\n".utf8))
    }

    private func finish(_ report: Report) throws {
        if options.json {
            try printJSON(report)
        } else if report.stopped {
            print("""
                \(file): \(Format.count(report.lines)) lines; \(Format.count(report.rejected.count)) rejected, \
                so nothing was imported (--strict); \(options.path) is untouched
                """)
        } else {
            print("""
                \(file): \(Format.count(report.lines)) lines; \(Format.count(report.inserted)) inserted, \
                \(Format.count(report.replaced)) replaced, \(Format.count(report.unchanged)) unchanged, \
                \(Format.count(report.rejected.count)) rejected
                """)
        }
        if !report.rejected.isEmpty { throw CtlExit.notFound }
    }
}

import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `sessionctl verify`: integrity and invariants.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the file: SQLite integrity, schema version, and the store's invariants.",
        discussion: "Exits 0 when everything holds and 3 when anything does not. Notes (such as change-log times that go back, as a wall clock does when NTP steps it) are printed but are not problems."
    )

    @OptionGroup var options: StoreOptions

    struct Report: Codable {
        var ok: Bool
        var problems: [String]
        var notes: [String]
    }

    func run() async throws {
        let store = try options.openForReading()
        let verification = try await store.verification()
        try await store.close()
        let problems = verification.problems
        if options.json {
            try printJSON(Report(ok: problems.isEmpty, problems: problems, notes: verification.notes))
        } else if problems.isEmpty {
            print("\(options.path): ok (integrity, schema, expiry columns, user index, change log)")
        } else {
            print("\(options.path): \(problems.count) problem\(problems.count == 1 ? "" : "s")")
            for problem in problems { print("  \(problem)") }
        }
        if !options.json {
            for note in verification.notes { print("  note: \(note)") }
        }
        if !problems.isEmpty { throw CtlExit.storage }
    }
}

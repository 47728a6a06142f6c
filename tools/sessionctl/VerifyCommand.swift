import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `sessionctl verify`: integrity and invariants.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the file: SQLite integrity, schema version, and the store's invariants.",
        discussion: "Exits 0 when everything holds and 3 when anything does not."
    )

    @OptionGroup var options: StoreOptions

    struct Report: Codable {
        var ok: Bool
        var problems: [String]
    }

    func run() async throws {
        let store = try options.openForReading()
        let problems = try await store.verify()
        try await store.close()
        if options.json {
            try printJSON(Report(ok: problems.isEmpty, problems: problems))
        } else if problems.isEmpty {
            print("\(options.path): ok (integrity, schema, expiry columns, user index, change log)")
        } else {
            print("\(options.path): \(problems.count) problem\(problems.count == 1 ? "" : "s")")
            for problem in problems { print("  \(problem)") }
        }
        if !problems.isEmpty { throw CtlExit.storage }
    }
}

import ArgumentParser
import Foundation
import Sessions

/// `sessionctl verify`: integrity and invariants.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the store: SQLite integrity (or, in PostgreSQL, its triggers and indexes), schema version, and the store's invariants.",
        discussion: "Exits 0 when everything holds and 3 when anything does not. Notes (such as change-log times that go back, as a wall clock does when NTP steps it) are printed but are not problems. With --keys (or SESSION_ENCRYPTION_KEYS) it also checks that every sealed value opens with them."
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: KeyOptions

    struct Report: Codable {
        var ok: Bool
        var problems: [String]
        var notes: [String]
    }

    func run() async throws {
        let store = try await options.openInspected()
        var verification = try await store.verification()
        if let encryption = try keys.encryption() {
            // With keys, every sealed value must open with them.
            let sealed = try await store.sealedDataCheck(using: encryption)
            if sealed.sessions.unopenable > 0 {
                verification.problems.append("\(sealed.sessions.unopenable) sessions whose sealed data the keys cannot open (another key, or damaged)")
            }
            if sealed.messages.unopenable > 0 {
                verification.problems.append("\(sealed.messages.unopenable) messages whose sealed content the keys cannot open (another key, or damaged)")
            }
            if sealed.sessions.plain + sealed.messages.plain > 0 {
                verification.notes.append("\(sealed.sessions.plain) sessions and \(sealed.messages.plain) messages are stored plain (sessionctl reencrypt seals them)")
            }
        }
        try await store.close()
        let problems = verification.problems
        if options.json {
            try printJSON(Report(ok: problems.isEmpty, problems: problems, notes: verification.notes))
        } else if problems.isEmpty {
            print("\(store.location): ok (\(store.verifiedAspects))")
        } else {
            print("\(store.location): \(problems.count) problem\(problems.count == 1 ? "" : "s")")
            for problem in problems { print("  \(problem)") }
        }
        if !options.json {
            for note in verification.notes { print("  note: \(note)") }
        }
        if !problems.isEmpty { throw CtlExit.storage }
    }
}

import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `sessionctl keygen`: a new key for `SESSION_ENCRYPTION_KEYS`.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a new random AES-256 key as id:base64, for SESSION_ENCRYPTION_KEYS.",
        discussion: """
            To rotate keys: put the new key first in SESSION_ENCRYPTION_KEYS (it seals new data), keep \
            the old ones after it (they still open old data), run `sessionctl reencrypt`, then drop \
            the old keys once `sessionctl reencrypt --json` reports no data under them.
            """
    )

    @Option(help: "The key id: 1-64 printable ASCII characters without ':' or ','.")
    var id = "k" + String(Int(Date().timeIntervalSince1970), radix: 36)

    func run() throws {
        let key = SessionEncryption.generateKey()
        // Checked the way the store will check it.
        _ = try SessionEncryption(parsing: "\(id):\(key)")
        print("\(id):\(key)")
    }
}

/// `sessionctl reencrypt`: rewrite stored data with the current key.
struct ReencryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reencrypt",
        abstract: "Rewrite session data and messages with the current encryption key, in short transactions.",
        discussion: """
            Needs the keys (--keys or SESSION_ENCRYPTION_KEYS): the first seals, all of them open. \
            Plain data is sealed too, so this also encrypts a database written before encryption was \
            turned on; --decrypt does the opposite. Safe while a service uses the file and safe to \
            interrupt: each batch is its own transaction, and running again continues.
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: KeyOptions

    @Option(help: "Sessions per transaction.")
    var batch = 500

    @Flag(help: "Store everything plain instead (to turn encryption off); the keys only open.")
    var decrypt = false

    struct Report: Codable {
        var sessionsRewritten: Int
        var sessionsAlreadyCurrent: Int
        var messagesRewritten: Int
        var interrupted: Bool
        var seconds: Double
        /// Sessions per key id after the run; "plain" for unsealed data.
        var keysInUse: [String: Int]
    }

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() async throws {
        guard let encryption = try keys.encryption() else {
            throw SessionStoreError(.configurationError, "reencrypt needs the keys: pass --keys id:base64,… or set SESSION_ENCRYPTION_KEYS")
        }
        let policy = SessionPolicy(encryption: decrypt ? nil : encryption)
        let store = try options.open(policy: policy)
        let total = try await store.count(includeExpired: true)
        let interruption = Interruption()
        let progress = ProgressReporter(total: total, on: .standardError)
        let started = ContinuousClock.now
        var report = Report(sessionsRewritten: 0, sessionsAlreadyCurrent: 0, messagesRewritten: 0, interrupted: false, seconds: 0, keysInUse: [:])
        var after: Int64 = 0
        while !interruption.requested {
            let done = try await store.reencrypt(batchSize: batch, after: after, decrypting: encryption)
            report.sessionsRewritten += done.sessionsRewritten
            report.sessionsAlreadyCurrent += done.sessionsCurrent
            report.messagesRewritten += done.messagesRewritten
            progress.update(done: report.sessionsRewritten + report.sessionsAlreadyCurrent, label: "re-encrypting")
            guard let next = done.next else { break }
            after = next
        }
        progress.finish()
        report.interrupted = interruption.requested
        report.seconds = (ContinuousClock.now - started).seconds
        for (keyID, count) in try await store.dataKeyUsage() { report.keysInUse[keyID ?? "plain", default: 0] += count }
        try await store.close()
        if options.json {
            try printJSON(report)
        } else {
            print("""
                \(report.interrupted ? "Interrupted after rewriting" : "Rewrote") \(Format.count(report.sessionsRewritten)) sessions and \
                \(Format.count(report.messagesRewritten)) messages in \(String(format: "%.1f", report.seconds)) s; \
                \(Format.count(report.sessionsAlreadyCurrent)) sessions were already \(decrypt ? "plain" : "sealed with \"\(encryption.currentKeyID)\"").
                Sessions by key now: \(report.keysInUse.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: ", "))
                """)
        }
        if report.interrupted { throw CtlExit.notFound }
    }
}

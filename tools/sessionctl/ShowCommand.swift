import ArgumentParser
import Foundation
import Sessions

/// `sessionctl show`: one session, its data and its history.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one session: data, metadata, client, recent messages, and its history in the change log.",
        discussion: "SESSION is a token (hashed before the lookup, never stored) or an unambiguous prefix of its hex hash."
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: KeyOptions

    @Argument(help: "A token, or a prefix of a hex token hash.")
    var session: String

    @Option(name: .long, help: "How many of the newest messages to show (0 for none).")
    var messages = 20

    struct Shown: Codable {
        var session: SessionSummary
        var data: String
        var dataIsJSON: Bool
        var history: [Event]
        var messages: [Message]
    }

    struct Message: Codable {
        var id: Int64
        var at: String
        var role: String
        var content: String
        var metadata: [String: String]
    }

    struct Event: Codable {
        var sequence: Int64
        var at: String
        var kind: String
        var tokenHash: String
        var userID: String?
        var origin: String
    }

    func run() async throws {
        let store = try await options.openInspected(policy: keys.policy())
        let found = try await SessionLookup.find(session, in: store)
        guard messages >= 0 else { throw ValidationError("--messages must be 0 or more") }
        let history = try await store.history(ofSession: found.id, limit: 100)
        let log = messages == 0 ? [] : try await store.messages(ofSession: found.id, last: messages)
        let retention = store.changeLogRetention
        try await store.close()
        let now = store.policy.now
        let (text, isJSON) = Self.render(found.data)
        let events = history.map {
            Event(
                sequence: $0.sequence, at: $0.at.description, kind: $0.kind.rawValue, tokenHash: $0.tokenHash.hex,
                userID: $0.userID, origin: $0.origin.map { String($0, radix: 16) } ?? "outside the library"
            )
        }
        let shownMessages = log.map {
            Message(id: $0.id, at: $0.createdAt.description, role: $0.role.rawValue, content: $0.content, metadata: $0.metadata)
        }
        if options.json {
            try printJSON(Shown(session: SessionSummary(found, now: now), data: text, dataIsJSON: isJSON, history: events, messages: shownMessages))
            return
        }
        print("""
            Session \(found.id)
              token hash     \(found.tokenHash.hex)
              user           \(found.userID ?? "(anonymous)")
              created        \(found.createdAt)  from \(found.ip ?? "-")  \(found.userAgent ?? "-")
              last seen      \(found.lastSeenAt)  from \(found.lastSeenIP ?? "-")  \(found.lastSeenUserAgent ?? "-")
              updated        \(found.updatedAt)
              expires        \(found.expiresAt) (\(Format.timeLeft(found, now: now)))
              limits         idle \(found.deadlines.idleTimeout.map(Format.duration) ?? "none"), absolute \(found.deadlines.absoluteExpiresAt.map(\.description) ?? "none")
              version        \(found.version)
            """)
        if !found.metadata.isEmpty {
            print("Metadata")
            for (key, value) in found.metadata.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value)") }
        }
        print("Data (\(Format.bytes(found.data.count))\(isJSON ? ", JSON" : ""))")
        print(text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
        if !shownMessages.isEmpty {
            print("Messages (newest \(shownMessages.count))")
            for message in shownMessages {
                let metadata = message.metadata.isEmpty ? "" : "  " + message.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                print("  #\(message.id)  \(message.at)  \(message.role.padding(toLength: 9, withPad: " ", startingAt: 0))\(Format.clip(message.content, 100))\(metadata)")
            }
        }
        print("History (the change log keeps \(Format.duration(retention)) and whatever replication has not applied)")
        if events.isEmpty { print("  (nothing recent)") }
        for event in events {
            print("  #\(event.sequence)  \(event.at)  \(event.kind.padding(toLength: 11, withPad: " ", startingAt: 0))  \(event.tokenHash.prefix(12))  by \(event.origin)")
        }
    }

    /// Session data for people: pretty JSON when it is JSON, text when it is text, hex otherwise.
    static func render(_ data: Data) -> (String, Bool) {
        if SessionEncryption.isSealed(data) {
            return ("(sealed with key \"\(SessionEncryption.keyID(of: data) ?? "?")\"; pass --keys or set SESSION_ENCRYPTION_KEYS to read it)", false)
        }
        if let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        {
            return (String(decoding: pretty, as: UTF8.self), true)
        }
        if let text = String(validating: data, as: UTF8.self) { return (text, false) }
        return (data.map { String(format: "%02x", $0) }.joined(), false)
    }
}

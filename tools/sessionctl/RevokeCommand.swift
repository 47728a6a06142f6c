import ArgumentParser
import Foundation
import Sessions

/// `sessionctl revoke`: delete one session, or all of a user's.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Delete a session, or every session of a user.",
        discussion: """
            A running service stops accepting the session at once (its cache learns of the change \
            within its coherence interval, 100 ms by default).
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: RefusedKeyOptions

    @Argument(help: "A token, or an unambiguous prefix of a hex token hash.")
    var session: String?

    @Option(help: "Revoke every session of this user instead.")
    var user: String?

    struct Revoked: Codable {
        var revoked: [SessionSummary]
    }

    func validate() throws {
        guard (session == nil) != (user == nil) else {
            throw ValidationError("give either a session (token or hash prefix) or --user USER")
        }
    }

    func run() async throws {
        let store = try await options.openInspected(writable: true)
        let now = store.policy.now
        var revoked: [Session] = []
        if let user {
            revoked = try await store.list(SessionQuery(userID: user, includeExpired: false, limit: 100_000)).sessions
            let count = try await store.deleteSessions(forUser: user)
            if count == 0 { revoked = [] }
        } else if let session {
            let found = try await SessionLookup.find(session, in: store)
            if try await store.deleteStored(found.tokenHash, id: found.id) || found.isExpired(at: now) { revoked = [found] }
        }
        try await store.close()
        if options.json {
            try printJSON(Revoked(revoked: revoked.map { SessionSummary($0, now: now) }))
        } else if revoked.isEmpty {
            print("nothing revoked")
        } else {
            print("revoked \(revoked.count) session\(revoked.count == 1 ? "" : "s"):")
            for session in revoked {
                print("  \(session.tokenHash.shortHex)  \(session.userID ?? "(anonymous)")  created \(session.createdAt)  last seen \(session.lastSeenAt)  \(Format.clip(session.lastSeenIP ?? session.ip, 20))")
            }
        }
        if revoked.isEmpty { throw CtlExit.notFound }
    }
}

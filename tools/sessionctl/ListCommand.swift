import ArgumentParser
import Foundation
import Sessions

/// `sessionctl list`: sessions, a page at a time.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List sessions, a page at a time."
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: RefusedKeyOptions

    @Option(help: "Only this user's sessions.")
    var user: String?

    @Flag(help: "Include sessions that expired but are not purged yet.")
    var expired = false

    @Option(help: "Sessions per page.")
    var limit = 50

    @Option(help: "Continue after this cursor (printed at the end of the previous page).")
    var after: String?

    struct Page: Codable {
        var sessions: [SessionSummary]
        var next: String?
    }

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
    }

    func run() async throws {
        let store = try await options.openInspected()
        let page = try await store.list(SessionQuery(
            userID: user,
            includeExpired: expired,
            after: after.map { SessionCursor(rawValue: $0) },
            limit: limit
        ))
        try await store.close()
        let now = store.policy.now
        if options.json {
            try printJSON(Page(sessions: page.sessions.map { SessionSummary($0, now: now) }, next: page.next?.rawValue))
        } else {
            var table = TextTable(["hash", "user", "created", "last seen", "expires", "ip", "user agent"])
            for session in page.sessions {
                table.append([
                    session.tokenHash.shortHex, Format.clip(session.userID, 24), session.createdAt.description,
                    session.lastSeenAt.description, Format.timeLeft(session, now: now), Format.clip(session.lastSeenIP ?? session.ip, 20),
                    Format.clip(session.lastSeenUserAgent ?? session.userAgent, 32),
                ])
            }
            print(table.render())
            if let next = page.next {
                print("more: sessionctl list --after \(next.rawValue)\(user.map { " --user \($0)" } ?? "")\(expired ? " --expired" : "")")
            }
        }
        if page.sessions.isEmpty { throw CtlExit.notFound }
    }
}

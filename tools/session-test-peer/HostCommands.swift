import Foundation
import Logging
#if Postgres
import PostgresSessions
#endif
import RedisSessions
import ServiceLifecycle
import Sessions
import SQLiteSessions

/// `session-test-peer host`: one host of a multi-host deployment, for the tests that run several
/// as real processes. The store and its services come from the environment, exactly as an app
/// gets them (SessionStoreFactory: SESSION_DB, SESSION_REPLICATE_TO, SESSION_SYNC, ..., and
/// with the Postgres trait SESSION_POSTGRES_URL). It reads
/// one command per line on standard input and answers one line on standard output:
///
///   create USER|-          a new session (for USER, or anonymous) → its token
///   get TOKEN              → the session's cart (comma-separated items, possibly empty) or "missing"
///   add TOKEN ITEM         adds ITEM to the cart with compare-and-set retries → "ok VERSION" or "missing"
///   rotate TOKEN           → the new token, or "missing"
///   logout TOKEN           → "deleted" or "missing"
///   logout-all USER        → how many sessions this host ended
///   revoke USER HASH       ends the user's session with that token hash → "true" or "false"
///   append TOKEN TEXT      → "ok" or "missing"
///   messages TOKEN         → the messages' texts joined with "|", or "missing"
///   dump                   → every live session as hash:version:cart, sorted, space-separated
///   health                 → the store's health details as JSON
///   quit                   shuts the services down gracefully and exits
///
/// A failed command answers "error <message>". Standard error carries the logs.
enum HostCommands {
    static func run() async throws {
        var logger = Logger(label: "session-test-peer")
        logger.logLevel = .notice
        #if Postgres
        let setup = try SessionStoreFactory.make(plugins: [.redis, .postgres])
        #else
        let setup = try SessionStoreFactory.make(plugins: [.redis])
        #endif
        let store = setup.store
        let group = ServiceGroup(configuration: .init(services: setup.services.map { .init(service: $0) }, logger: logger))
        let services = Task { try await group.run() }
        report("ready \(setup.summary)")
        for await line in StandardInputLines() {
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard let command = words.first else { continue }
            if command == "quit" { break }
            let answer: String
            do {
                answer = try await execute(command, Array(words.dropFirst()), store: store)
            } catch {
                answer = "error \(String(describing: error).replacingOccurrences(of: "\n", with: " "))"
            }
            report(answer)
        }
        await group.triggerGracefulShutdown()
        try await services.value
        try await store.close()
    }

    private static func execute(_ command: String, _ arguments: [String], store: any SessionStoreAdministration & SessionMessageLog) async throws -> String {
        func token(_ index: Int) throws -> SessionToken {
            guard index < arguments.count else { throw UsageError(command: command) }
            return try SessionToken(arguments[index])
        }
        func argument(_ index: Int) throws -> String {
            guard index < arguments.count else { throw UsageError(command: command) }
            return arguments[index]
        }
        switch command {
        case "create":
            let user = try argument(0)
            return try await store.create(userID: user == "-" ? nil : user, data: Data("[]".utf8)).token.stringValue
        case "get":
            guard let session = try await store.load(try token(0)) else { return "missing" }
            return try cart(session).joined(separator: ",")
        case "add":
            let item = try argument(1)
            let stored = try await store.update(try token(0), maxAttempts: 100) { session in
                var items = try cart(session)
                items.append(item)
                session.data = try JSONEncoder().encode(items)
            }
            return stored.map { "ok \($0.version)" } ?? "missing"
        case "rotate":
            return try await store.rotate(try token(0))?.token.stringValue ?? "missing"
        case "logout":
            return try await store.delete(try token(0)) ? "deleted" : "missing"
        case "logout-all":
            return String(try await store.deleteSessions(forUser: try argument(0)))
        case "revoke":
            guard let hash = TokenHash(hex: try argument(1)) else { throw UsageError(command: command) }
            return String(try await store.revokeSession(hash, ofUser: try argument(0)))
        case "append":
            do {
                _ = try await store.append(SessionMessageDraft(role: .user, content: try argument(1)), to: try token(0))
                return "ok"
            } catch let error as SessionStoreError where error.code == .notFound {
                return "missing"
            }
        case "messages":
            guard let messages = try await store.messages(for: try token(0), last: 1000) else { return "missing" }
            return messages.map(\.content).joined(separator: "|")
        case "dump":
            var lines: [String] = []
            var cursor: SessionCursor?
            repeat {
                let page = try await store.list(SessionQuery(after: cursor, limit: 500))
                for session in page.sessions {
                    lines.append("\(session.tokenHash.hex):\(session.version):\(try cart(session).joined(separator: ","))")
                }
                cursor = page.next
            } while cursor != nil
            return lines.sorted().joined(separator: " ")
        case "health":
            let health = await store.healthCheck()
            let data = try JSONSerialization.data(withJSONObject: health.details.merging(["status": "\(health.status)"]) { $1 }, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        default:
            throw UsageError(command: command)
        }
    }

    private static func cart(_ session: Session) throws -> [String] {
        session.data.isEmpty ? [] : try JSONDecoder().decode([String].self, from: session.data)
    }

    struct UsageError: Error, CustomStringConvertible {
        var command: String
        var description: String { "bad arguments for \(command)" }
    }
}

/// Standard input's lines, read on a thread of its own so no task blocks on the pipe.
struct StandardInputLines: AsyncSequence {
    typealias Element = String

    func makeAsyncIterator() -> AsyncStream<String>.Iterator {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        Thread.detachNewThread {
            while let line = readLine() { continuation.yield(line) }
            continuation.finish()
        }
        return stream.makeAsyncIterator()
    }
}

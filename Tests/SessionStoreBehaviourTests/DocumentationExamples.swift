import Foundation
import Logging
import RedisSessions
import ServiceLifecycle
import Sessions
import SQLiteSessions

// The short listings of README.md and the Sessions and SQLiteSessions catalogs, compiled here
// (DocumentationListingsTests finds each one in a test source) and run by DocumentationExamplesTests.
enum DocumentationExamples {
    /// README.md's quick start.
    static func readmeQuickStart(path: String) async throws -> Bool {
        let store = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path))
        let issued = try await store.create(userID: "alice", data: Data(#"{"cart":[]}"#.utf8))
        let cookie = issued.token.stringValue   // send it as a Secure, HttpOnly cookie

        // On each request: parse the cookie (a bad one fails before any I/O), load, change, save.
        let token = try SessionToken(cookie)
        if var session = try await store.load(token) {
            session.data = Data(#"{"cart":["book"]}"#.utf8)
            session = try await store.save(session, expectedVersion: session.version)
        }
        let rotated = try await store.rotate(token)           // at login: the old token dies at once
        _ = try await store.deleteSessions(forUser: "alice")  // log out everywhere
        try await store.close()
        return rotated != nil
    }

    /// ChoosingAStore.md and GettingStarted.md: the one line that picks the store.
    static func choosingAStore(path: String) throws -> [any SessionStore] {
        let development: any SessionStore = InMemorySessionStore()
        let oneHost: any SessionStore = try SQLiteSessionStore(path: path)
        let oneHostFast: any SessionStore = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path))
        return [development, oneHost, oneHostFast]
    }

    /// SQLiteSessions.md.
    static func sqliteLanding(path: String) throws -> CachedSessionStore {
        let store = try CachedSessionStore(wrapping: SQLiteSessionStore(path: path))
        return store
    }

    /// Expiry.md: a policy and a per-session override.
    static func expiry(path: String) async throws -> Session {
        let policy = SessionPolicy(expiration: .hybrid(idle: .seconds(30 * 60), absolute: .seconds(24 * 3600)))
        let store = try SQLiteSessionStore(path: path, policy: policy)
        let remembered = try await store.create(userID: "alice", expiration: .absolute(.seconds(30 * 86_400)))
        try await store.close()
        return remembered.session
    }

    /// Expiry.md and GettingStarted.md: the sweeper beside the app.
    static func sweeper(store: any SessionStoreAdministration, app: any Service, logger: Logger) -> ServiceGroup {
        let sweeper = SessionSweeper(store: store, configuration: .init(interval: .seconds(60)))
        let group = ServiceGroup(services: [app, sweeper], logger: logger)   // or: try await sweeper.run()
        return group
    }

    /// ConfiguringFromTheEnvironment.md.
    static func factory(app: any Service, logger: Logger) throws -> ServiceGroup {
        let setup = try SessionStoreFactory.make(plugins: [.redis])   // a bad value throws, naming the variable and what is accepted
        logger.info("\(setup.summary)")
        let group = ServiceGroup(services: [app] + setup.services, logger: logger)
        return group
    }
}

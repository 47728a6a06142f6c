import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

/// The environment factory as an app that links only SQLiteSessions reaches it: no RedisSessions,
/// so no SwiftNIO.
@Suite("Configuration from the environment, SQLite only")
struct SessionStoreFactoryWithoutRedisTests {
    @Test func buildsACachedSQLiteStoreWithItsServices() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("plain.sqlite").path
        let setup = try SessionStoreFactory.make(environment: ["SESSION_DB": path, "SESSION_TTL": "15m"])
        #expect(setup.store is CachedSessionStore)
        #expect(setup.store.policy.expiration == .idle(.seconds(900)))
        #expect(setup.services.first is SessionStoreCloser)
        let issued = try await setup.store.create(userID: "plain")
        #expect(try await setup.store.load(issued.token) != nil)
        try await setup.store.close()
    }

    @Test(arguments: ["SESSION_REPLICATE_TO", "USE_REDIS", "SESSION_SYNC"])
    func aVariableOfAPluginThatIsNotPassedIsExplained(_ variable: String) {
        #expect {
            try SessionStoreFactory.make(environment: [variable: variable == "SESSION_REPLICATE_TO" ? "redis://10.0.0.5" : "true"])
        } throws: { error in
            guard let error = error as? SessionStoreError else { return false }
            return error.code == .configurationError && error.message.contains(variable) && error.message.contains("plugins: [.redis]")
        }
    }
}

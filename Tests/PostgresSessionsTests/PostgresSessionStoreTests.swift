#if Postgres
import LocalPostgresServer
import Foundation
import PostgresNIO
@testable import PostgresSessions
import SessionTestSupport
import SQLiteSessions
import Sessions
import Synchronization
import Testing

/// What the behaviour suite cannot show of the PostgreSQL store: its schema, several hosts on
/// one database, purges racing, the server going away. The suite itself runs over it too
/// (`StoreKind.postgres`, `.cachedPostgres`).
@Suite(.enabled(if: PostgresTestServer.available || PostgresTestServer.required))
struct PostgresSessionStoreTests {
    static let schemaDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schema/postgres")

    /// Two stores on one schema, as two hosts would have, each with its own pool and origin.
    private func withHosts(
        _ count: Int = 2,
        pollInterval: Duration = .milliseconds(200),
        policy adjust: (inout SessionPolicy) -> Void = { _ in },
        _ body: ([PostgresSessionStore]) async throws -> Void
    ) async throws {
        let schema = PostgresTestServer.uniqueSchema()
        var policy = SessionPolicy()
        adjust(&policy)
        var stores: [PostgresSessionStore] = []
        var cleanup: (@Sendable () async throws -> Void)?
        for _ in 0..<count {
            let (store, drop) = try PostgresTestServer.store(policy: policy, schema: schema, pollInterval: pollInterval)
            stores.append(store)
            cleanup = drop
        }
        do {
            try await body(stores)
        } catch {
            try? await cleanup?()
            for store in stores { try? await store.close() }
            throw error
        }
        try await cleanup?()
        for store in stores { try await store.close() }
    }

    @Test func theSchemaFilesAreTheMigrationsByteForByte() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.schemaDirectory.path).sorted()
        #expect(files == PostgresSchema.migrations.map(\.fileName))
        for migration in PostgresSchema.migrations {
            let file = try String(contentsOf: Self.schemaDirectory.appendingPathComponent(migration.fileName), encoding: .utf8)
            #expect(file == migration.sql, "\(migration.fileName) differs from the SQL the library applies")
        }
    }

    @Test func migrationsSplitIntoStatementsOutsideQuotesAndFunctionBodies() {
        let statements = PostgresSchema.statements(in: """
            -- a comment; with a semicolon
            CREATE TABLE a (b text DEFAULT ';');
            CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; END $$;
            SELECT 1
            """)
        #expect(statements == [
            "CREATE TABLE a (b text DEFAULT ';')",
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; END $$",
            "SELECT 1",
        ])
    }

    @Test func theFactoryBuildsACachedPostgresStoreFromTheEnvironment() async throws {
        let schema = PostgresTestServer.uniqueSchema()
        let environment = ["SESSION_POSTGRES_URL": try #require(PostgresTestServer.url), "SESSION_POSTGRES_SCHEMA": schema]
        let setup = try SessionStoreFactory.make(environment: environment, plugins: [.postgres])
        #expect(setup.summary.contains("PostgreSQL session store"), "\(setup.summary)")
        #expect(setup.store is CachedSessionStore)
        let issued = try await setup.store.create(userID: "erin")
        #expect(try await setup.store.load(issued.token)?.userID == "erin")
        let (_, drop) = try PostgresTestServer.store(policy: SessionPolicy(), schema: schema)
        try await drop()
        try await setup.store.close()

        await expectError(.configurationError) { try SessionStoreFactory.make(environment: environment) }
        await expectError(.configurationError) {
            try SessionStoreFactory.make(environment: ["SESSION_POSTGRES_URL": "mysql://nope"], plugins: [.postgres])
        }
        await expectError(.configurationError) {
            try SessionStoreFactory.make(environment: environment.merging(["SESSION_POSTGRES_SCHEMA": "x; DROP TABLE y"]) { $1 }, plugins: [.postgres])
        }
    }

    @Test func aDatabaseWithANewerSchemaIsRefused() async throws {
        try await withHosts(1) { stores in
            let store = stores[0]
            _ = try await store.create(userID: "u")
            _ = try await store.client.query("UPDATE sessions_schema SET version = 99")
            let schema = try #require(store.configuration.schema)
            let (newer, drop) = try PostgresTestServer.store(policy: SessionPolicy(), schema: schema)
            await expectError(.incompatibleSchema) { try await newer.count() }
            _ = drop
            try await newer.close()
        }
    }

    @Test func theDatabaseHoldsHashesNeverTokensAndReadsWellInPsql() async throws {
        try await withHosts(1) { stores in
            let store = stores[0]
            let issued = try await store.create(userID: "alice", data: Data("{\"cart\":[]}"), metadata: ["device": "phone"])
            var hashes: [String] = []
            for try await (hash, device) in try await store.client.query(
                "SELECT token_hash, device FROM active_sessions, LATERAL (SELECT metadata::jsonb ->> 'device' AS device) AS m"
            ).decode((String, String?).self) {
                hashes.append(hash)
                #expect(device == "phone")
            }
            #expect(hashes == [issued.session.tokenHash.hex])
            #expect(!hashes.contains(issued.token.stringValue))
        }
    }

    @Test func aLogoutOnOneHostIsRefusedByTheOtherHostsCache() async throws {
        try await withHosts { stores in
            let a = try CachedSessionStore(wrapping: stores[0])
            let b = try CachedSessionStore(wrapping: stores[1])
            let issued = try await a.create(userID: "alice", data: Data("v1"))
            #expect(try await b.load(issued.token)?.data == Data("v1"))
            // B serves it from memory now; A's save and then A's logout reach B's cache.
            var session = try #require(try await a.load(issued.token))
            session.data = Data("v2")
            _ = try await a.save(session)
            try await waitUntil("B serves the saved data") { try await b.load(issued.token)?.data == Data("v2") }
            #expect(try await a.delete(issued.token))
            try await waitUntil("B refuses the logged-out session") { try await b.load(issued.token) == nil }
        }
    }

    @Test func logOutEverywhereOnOneHostEndsTheUsersSessionsInEveryCache() async throws {
        try await withHosts(3) { stores in
            let caches = try stores.map { try CachedSessionStore(wrapping: $0) }
            var tokens: [SessionToken] = []
            for cache in caches { tokens.append(try await cache.create(userID: "bob").token) }
            for cache in caches {
                for token in tokens { #expect(try await cache.load(token) != nil) }
            }
            #expect(try await caches[1].deleteSessions(forUser: "bob") == 3)
            for cache in caches {
                try await waitUntil("every cache refuses every session of bob") {
                    for token in tokens where try await cache.load(token) != nil { return false }
                    return true
                }
            }
        }
    }

    @Test func aChangeMadeInPsqlReachesTheCachesToo() async throws {
        try await withHosts(1) { stores in
            let cache = try CachedSessionStore(wrapping: stores[0])
            let issued = try await cache.create(userID: "carol")
            #expect(try await cache.load(issued.token) != nil)
            // Another program, not this library: the triggers log and notify it all the same.
            let other = try PostgresClient(configuration: PostgresTestServer.configuration(schema: #require(stores[0].configuration.schema)).client, backgroundLogger: .init(label: "psql"))
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await other.run() }
                do {
                    _ = try await other.query("DELETE FROM \(unescaped: stores[0].configuration.schema!).sessions WHERE user_id = 'carol'")
                } catch {
                    Issue.record("\(String(reflecting: error))")
                }
                group.cancelAll()
            }
            try await waitUntil("the cache refuses a session deleted outside the library") { try await cache.load(issued.token) == nil }
        }
    }

    @Test func purgesOnSeveralHostsAtOnceDeleteEachExpiredSessionOnce() async throws {
        let clock = ManualSessionClock(StoreHarness.fixedStart)
        try await withHosts(3, policy: { $0.clock = clock }) { stores in
            // Created concurrently, a task per host; 2,000 expire, 500 stay.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for host in 0..<3 {
                    group.addTask {
                        for index in stride(from: host, to: 2_500, by: 3) {
                            _ = try await stores[host].create(userID: "u\(index % 50)", expiration: .absolute(.seconds(index < 2_000 ? 60 : 3600)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            clock.advance(by: .seconds(120))
            let purged = try await withThrowingTaskGroup(of: Int.self) { group in
                for store in stores { group.addTask { try await store.purgeExpired(limit: 10_000) } }
                return try await group.reduce(0, +)
            }
            #expect(purged == 2_000)
            #expect(try await stores[0].count() == 500)
            #expect(try await stores[1].count(includeExpired: true) == 500)
        }
    }

    @Test func aPerUserLimitHoldsWhenOneUsersCreatesRaceOnSeveralHosts() async throws {
        try await withHosts(2, policy: { $0.maxSessionsPerUser = 3 }) { stores in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask { _ = try await stores[index % 2].create(userID: "dana") }
                }
                try await group.waitForAll()
            }
            #expect(try await stores[0].sessions(forUser: "dana").count == 3)
        }
    }

    @Test func concurrentSavesOnTwoHostsLoseNoUpdate() async throws {
        try await withHosts { stores in
            let issued = try await stores[0].create(data: Data("0"))
            // One writer per host, each adding one at a time: every save compares the version.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores {
                    group.addTask {
                        for _ in 0..<20 {
                            _ = try await store.update(issued.token, maxAttempts: 50) { session in
                                let count = Int(String(decoding: session.data, as: UTF8.self))!
                                session.data = Data("\(count + 1)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await stores[1].load(issued.token)?.data == Data("40"))
        }
    }

    @Test func hostileStringsAreStoredAsTheyCame() async throws {
        try await withHosts(1) { stores in
            let hostile = "x'); DROP TABLE sessions; --\u{202E}\u{1F600}"
            let user = "o'brien\"; SELECT pg_sleep(10); --"
            let issued = try await stores[0].create(userID: user, metadata: [hostile: hostile], client: SessionClient(ip: hostile, userAgent: hostile))
            let loaded = try #require(try await stores[0].load(issued.token))
            #expect(loaded.userID == user)
            #expect(loaded.metadata == [hostile: hostile])
            #expect(try await stores[0].sessions(forUser: user).map(\.id) == [loaded.id])
            #expect(try await stores[0].count() == 1)
            // PostgreSQL text cannot hold NUL: refused with a clear error, nothing stored.
            await expectError(.invalidArgument) { try await stores[0].create(userID: "nul\u{0}user") }
            #expect(try await stores[0].count() == 1)
        }
    }

    /// On a server of its own (restarting the shared one would disturb the tests running beside it).
    @Test func aServerRestartedMidTrafficFailsClearlyReconnectsAndLosesNothingAcknowledged() async throws {
        let server = try await PostgresServerProcess.start()
        defer { server.stop() }
        var configuration = try PostgresSessionStore.Configuration(url: server.url)
        configuration.pollInterval = .milliseconds(200)
        let store = try PostgresSessionStore(configuration: configuration)
        _ = try await store.create(userID: "before")
        let stop = StopFlag()
        let traffic = Task {
            var acknowledged: [SessionToken] = []
            var failures: [SessionStoreError.Code] = []
            while !stop.isSet {
                do {
                    acknowledged.append(try await store.create(userID: "traffic").token)
                } catch let error as SessionStoreError {
                    failures.append(error.code)
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            return (acknowledged, failures)
        }
        try await Task.sleep(for: .milliseconds(300))
        try await server.restart()
        try await waitUntil("writes succeed again after the restart") {
            (try? await store.create(userID: "after")) != nil
        }
        try await Task.sleep(for: .milliseconds(200))
        stop.set()
        let (acknowledged, failures) = try await traffic.value
        #expect(acknowledged.count > 0)
        #expect(failures.allSatisfy { [.unavailable, .closed, .timeout].contains($0) }, "\(failures)")
        for token in acknowledged {
            #expect(try await store.load(token) != nil, "an acknowledged create was lost")
        }
        try await store.close()
    }

    private final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }
}
#endif

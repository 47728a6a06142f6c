import Foundation
#if Postgres
import Logging
public import PostgresNIO
public import PostgresSessions
public import Sessions
#endif

/// The PostgreSQL server tests use: the one `tools/test` starts (initdb in a temporary
/// directory, pg_ctl on 127.0.0.1 at a free port) and names in `POSTGRES_URL`.
///
/// Each store works in a schema of its own, dropped afterwards. When `SESSIONS_REQUIRE_POSTGRES`
/// is set (as `tools/test` and CI do), a missing server is a test failure, never a silent skip.
public enum PostgresTestServer {
    /// `POSTGRES_URL`, if set.
    public static var url: String? {
        ProcessInfo.processInfo.environment["POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether PostgreSQL tests must run.
    public static var required: Bool {
        ProcessInfo.processInfo.environment["SESSIONS_REQUIRE_POSTGRES"] == "1"
    }

    /// Whether this build and run test the PostgreSQL store.
    public static var available: Bool {
        #if Postgres
        if url != nil || required { return true }
        print("PostgreSQL stores are not tested: POSTGRES_URL is not set (tools/test starts a private server and sets it)")
        return false
        #else
        return false
        #endif
    }

    /// A schema name no other test uses.
    public static func uniqueSchema() -> String {
        "test_" + UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: "_")
    }

    #if Postgres
    /// The configuration of a store in `schema`.
    ///
    /// - Parameter pollInterval: How often the change log is read besides notifications.
    public static func configuration(schema: String, pollInterval: Duration = .milliseconds(200)) throws -> PostgresSessionStore.Configuration {
        guard let url else { throw SessionStoreError(.configurationError, "POSTGRES_URL is not set; tools/test starts a server and sets it") }
        var configuration = try PostgresSessionStore.Configuration(url: url)
        configuration.schema = schema
        configuration.pollInterval = pollInterval
        return configuration
    }

    /// A store in a fresh schema, and what drops that schema.
    public static func store(
        policy: SessionPolicy, schema: String = uniqueSchema(), pollInterval: Duration = .milliseconds(200)
    ) throws -> (PostgresSessionStore, @Sendable () async throws -> Void) {
        let configuration = try configuration(schema: schema, pollInterval: pollInterval)
        let store = try PostgresSessionStore(configuration: configuration, policy: policy)
        return (store, { try await dropSchema(schema) })
    }

    /// Runs `body` with a client of its own on the server (the default schema), then closes it.
    public static func withClient<Value: Sendable>(_ body: @Sendable (PostgresClient) async throws -> Value) async throws -> Value {
        let configuration = try configuration(schema: "public")
        let client = PostgresClient(configuration: configuration.client, backgroundLogger: Logger(label: "sessions.test"))
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Drops `schema` and everything in it.
    public static func dropSchema(_ schema: String) async throws {
        try await withClient { client in
            _ = try await client.query("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE")
        }
    }
    #endif
}

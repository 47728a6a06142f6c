#if Postgres
import Foundation
import PostgresNIO
public import Sessions
public import SQLiteSessions

/// What PostgresSessions adds to `SessionStoreFactory`:
/// `SessionStoreFactory.make(plugins: [.postgres])`.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `SESSION_POSTGRES_URL` | `postgres://user:password@host:port/database?sslmode=…`: keep sessions in PostgreSQL instead of a SQLite file | |
/// | `SESSION_POSTGRES_SCHEMA` | the schema the session tables live in (created when missing) | the connection's default |
///
/// `SESSION_CACHE` (on by default) puts a memory cache in front, kept coherent with every other
/// host's writes through the database's change log and `NOTIFY`.
public struct PostgresFactoryPlugin: SessionStoreFactoryPlugin {
    /// Creates the plug-in; `.postgres` in `SessionStoreFactory.make(plugins:)` is the same.
    public init() {}

    public func plan(_ environment: SessionStoreFactory.Environment) throws(SessionStoreError) -> SessionStoreFactory.Plan? {
        let variables = environment.variables
        guard let url = variables["SESSION_POSTGRES_URL"] else { return nil }
        for conflicting in ["USE_REDIS", "SESSION_REPLICATE_TO"] where variables[conflicting] != nil && (try? environment.flag(conflicting)) != false {
            throw SessionStoreError(.configurationError, "SESSION_POSTGRES_URL and \(conflicting) are both set; choose one place for sessions")
        }
        var configuration: PostgresSessionStore.Configuration
        do {
            configuration = try PostgresSessionStore.Configuration(url: url)
            configuration.schema = variables["SESSION_POSTGRES_SCHEMA"]
            try configuration.validate()
        } catch {
            throw SessionStoreError(.configurationError, "SESSION_POSTGRES_URL: \(error.message)")
        }
        let cached = try environment.flag("SESSION_CACHE", default: true)
        let policy = environment.policy
        return .replace { [configuration] in
            let postgres = try PostgresSessionStore(configuration: configuration, policy: policy)
            let host = configuration.client.host ?? "?"
            let summary = "PostgreSQL session store at \(host):\(configuration.client.port ?? 5432)"
            guard cached else { return SessionStoreFactory.Part(store: postgres, services: [], summary: summary) }
            return SessionStoreFactory.Part(
                store: try CachedSessionStore(wrapping: postgres),
                services: [],
                summary: summary + ", with a memory cache kept coherent through LISTEN/NOTIFY"
            )
        }
    }
}

extension SessionStoreFactoryPlugin where Self == PostgresFactoryPlugin {
    /// Sessions in PostgreSQL (`SESSION_POSTGRES_URL`): `SessionStoreFactory.make(plugins: [.postgres])`.
    public static var postgres: PostgresFactoryPlugin { PostgresFactoryPlugin() }
}
#endif

#if Postgres
import Foundation
public import Logging
import NIOSSL
public import PostgresNIO
public import Sessions

extension PostgresSessionStore {
    /// Where the database is and how the store uses it.
    public struct Configuration: Sendable {
        /// The connection pool's settings (host, credentials, TLS, pool size).
        public var client: PostgresClient.Configuration
        /// How often the change log is read even when no notification arrived: the safety net
        /// under `LISTEN/NOTIFY`, which loses what is sent while a listener reconnects.
        public var pollInterval: Duration = .seconds(1)
        /// How long change-log entries are kept; a cache further behind than this starts empty.
        public var changeRetention: Duration = .seconds(3600)
        /// The PostgreSQL schema the session tables live in, created when missing; nil for the
        /// connection's default (`public`). A plain lowercase identifier.
        public var schema: String?
        /// Where the store logs (reconnects, migrations, a change log it fell behind).
        public var logger = Logger(label: "sessions.postgres")
        /// Whether the store brings the schema up to date when it first needs it (the default).
        /// Off, it only checks that the session tables are there at this library's version and
        /// otherwise fails every operation with a clear error: for tools, and for deployments
        /// whose database changes go through their own migration step (apply `schema/postgres/`).
        public var migratesSchema = true
        /// How to open one connection outside the pool, for ``PostgresSessionStore/checkConnection(_:)``:
        /// known for configurations read from a URL.
        var probe: (@Sendable () throws -> PostgresConnection.Configuration)?
        /// Without encryption in the policy, pass sealed data through still sealed instead of
        /// failing to read it: for tools (`sessionctl`) that list and revoke sessions without
        /// holding the keys. A service leaves it off.
        public var keepsSealedData = false

        /// Checks ``schema``.
        func validate() throws(SessionStoreError) {
            guard let schema else { return }
            let valid = !schema.isEmpty && schema.count <= 63 && schema.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
                && !(schema.utf8.first! >= 0x30 && schema.utf8.first! <= 0x39)
            guard valid else {
                throw SessionStoreError(.configurationError, "schema \"\(schema.prefix(70))\" must be a lowercase identifier (a-z, 0-9, _; up to 63 characters)")
            }
        }

        /// Creates a configuration for the connection pool `client`, with every other setting at its
        /// default. ``PostgresSessionStore/checkConnection(_:)`` does not check a configuration made this way.
        public init(client: PostgresClient.Configuration) {
            self.client = client
        }

        /// Reads a `postgres://user:password@host:port/database?sslmode=…` URL.
        ///
        /// `sslmode` follows libpq: `disable`, `prefer` (the default: TLS when the server offers
        /// it, certificate not verified), `require` (TLS, certificate not verified) and
        /// `verify-full` (TLS, certificate and host name verified).
        ///
        /// - Throws: `SessionStoreError.Code.configurationError` for a URL that is not one.
        public init(url: String) throws(SessionStoreError) {
            guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
                  let host = components.host, !host.isEmpty
            else {
                throw SessionStoreError(.configurationError, "\"\(url.prefix(80))\" is not a postgres://user:password@host:port/database URL")
            }
            let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
            let tls: PostgresClient.Configuration.TLS
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            let tlsMode: (verified: Bool, required: Bool)?
            switch mode {
            case "disable": (tls, tlsMode) = (.disable, nil)
            case "prefer", "allow": (tls, tlsMode) = (.prefer(unverified), (false, false))
            case "require": (tls, tlsMode) = (.require(unverified), (false, true))
            case "verify-full", "verify-ca": (tls, tlsMode) = (.require(.makeClientConfiguration()), (true, true))
            default:
                throw SessionStoreError(.configurationError, "sslmode=\(mode.prefix(20)) must be disable, prefer, require or verify-full")
            }
            let port = components.port ?? 5432
            let username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
            let password = components.password.flatMap { $0.removingPercentEncoding }
            self.init(
                client: PostgresClient.Configuration(
                    host: host, port: port, username: username, password: password,
                    database: database.isEmpty ? nil : database, tls: tls
                )
            )
            probe = { () throws -> PostgresConnection.Configuration in
                var connectionTLS = PostgresConnection.Configuration.TLS.disable
                if let tlsMode {
                    var settings = TLSConfiguration.makeClientConfiguration()
                    if !tlsMode.verified { settings.certificateVerification = .none }
                    let context = try NIOSSLContext(configuration: settings)
                    connectionTLS = tlsMode.required ? .require(context) : .prefer(context)
                }
                return PostgresConnection.Configuration(
                    host: host, port: port, username: username, password: password,
                    database: database.isEmpty ? nil : database, tls: connectionTLS
                )
            }
        }
    }
}
#endif

#if Postgres
import Foundation
import Logging
import PostgresNIO
import Sessions

/// The PostgreSQL schema's versions and how a database reaches the newest.
///
/// The version is a row in `sessions_schema`. Opening a store applies the missing migrations in
/// one transaction, under an advisory lock, so several hosts starting at once migrate once; a
/// database newer than this library is refused, never downgraded.
enum PostgresSchema {
    struct Migration {
        let version: Int64
        let fileName: String
        let sql: String
    }

    /// Every migration, in order; each file is in `schema/postgres/`.
    static let migrations = [
        Migration(version: 1, fileName: "001_initial.sql", sql: version1 + "\n"),
        Migration(version: 2, fileName: "002_notify_after_commit.sql", sql: version2 + "\n"),
    ]

    static var latestVersion: Int64 { migrations.last!.version }

    /// Checks that the database holds the session tables at ``latestVersion``, changing nothing:
    /// for stores that must not migrate (``PostgresSessionStore/Configuration/migratesSchema``).
    ///
    /// - Throws: `SessionStoreError.Code.notFound` when there are no session tables,
    ///   `SessionStoreError.Code.incompatibleSchema` when their version is another.
    static func check(_ client: PostgresClient, logger: Logger) async throws(SessionStoreError) {
        let (database, schema, version) = try await PostgresErrors.mapping("checking the session schema") { () async throws -> (String, String, Int64?) in
            var place = ("", "", false)
            for try await row in try await client.query(
                "SELECT current_database()::text, coalesce(current_schema()::text, '(none)'), to_regclass('sessions_schema') IS NOT NULL",
                logger: logger
            ).decode((String, String, Bool).self) {
                place = row
            }
            guard place.2 else { return (place.0, place.1, nil) }
            var version: Int64 = 0
            for try await value in try await client.query("SELECT coalesce(max(version), 0) FROM sessions_schema", logger: logger).decode(Int64.self) {
                version = value
            }
            return (place.0, place.1, version)
        }
        guard let version else {
            throw SessionStoreError(.notFound, "database \(database) has no session tables in schema \(schema); a service creates them when it first opens the store")
        }
        guard version == latestVersion else {
            let advice = version < latestVersion ? "open it with a service to migrate it" : "upgrade the library"
            throw SessionStoreError(.incompatibleSchema, "the database's session schema is version \(version), this library's is \(latestVersion); \(advice)")
        }
    }

    /// An arbitrary constant: the advisory lock that serializes migrations across hosts.
    private static let lockKey: Int64 = 0x5345_5353_494f_4e53

    /// Brings the database to ``latestVersion``.
    ///
    /// - Throws: `SessionStoreError.Code.incompatibleSchema` when the database is newer.
    static func migrate(_ client: PostgresClient, schema: String?, logger: Logger) async throws(SessionStoreError) {
        try await PostgresErrors.mapping("migrating the session schema") {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                if let schema {
                    // Checked by Configuration.validate: a plain identifier.
                    try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
                }
                try await connection.query("CREATE TABLE IF NOT EXISTS sessions_schema (version bigint NOT NULL)", logger: logger)
                var current: Int64 = 0
                for try await (version) in try await connection.query("SELECT coalesce(max(version), 0) FROM sessions_schema", logger: logger).decode(Int64.self) {
                    current = version
                }
                if current > latestVersion {
                    throw SessionStoreError(
                        .incompatibleSchema,
                        "the database's session schema is version \(current), newer than this library's \(latestVersion); upgrade the library"
                    )
                }
                for migration in migrations where migration.version > current {
                    logger.info("applying session schema migration", metadata: ["file": "\(migration.fileName)"])
                    for statement in statements(in: migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("DELETE FROM sessions_schema", logger: logger)
                    try await connection.query("INSERT INTO sessions_schema (version) VALUES (\(migration.version))", logger: logger)
                }
            }
        }
    }

    /// The statements of a migration file, one at a time (the extended protocol takes one per
    /// query): split at semicolons outside comments, quotes and `$$` bodies.
    static func statements(in sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var index = sql.startIndex
        var inDollarBody = false
        func statementEnds() {
            let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { statements.append(trimmed) }
            current = ""
        }
        while index < sql.endIndex {
            let rest = sql[index...]
            if rest.hasPrefix("$$") {
                inDollarBody.toggle()
                current += "$$"
                index = sql.index(index, offsetBy: 2)
                continue
            }
            let character = sql[index]
            if !inDollarBody && rest.hasPrefix("--") {
                // A comment runs to the end of its line; it is left out.
                index = sql[index...].firstIndex(of: "\n") ?? sql.endIndex
                continue
            }
            if !inDollarBody && character == "'" {
                let close = sql[sql.index(after: index)...].firstIndex(of: "'") ?? sql.index(before: sql.endIndex)
                current += sql[index...close]
                index = sql.index(after: close)
                continue
            }
            if !inDollarBody && character == ";" {
                statementEnds()
            } else {
                current.append(character)
            }
            index = sql.index(after: index)
        }
        statementEnds()
        return statements
    }
}
#endif

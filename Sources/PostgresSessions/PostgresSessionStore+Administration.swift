#if Postgres
import Foundation
import PostgresNIO
public import Sessions

extension PostgresSessionStore {
    public func list(_ query: SessionQuery) async throws -> SessionPage {
        try SessionPolicy.validate(limit: query.limit)
        let after = try SessionCursor.decodeID(query.after)
        let now = policy.now.millisecondsSince1970
        // Paged by id, one more than asked to know whether a next page exists.
        var sql: PostgresQuery = "SELECT \(unescaped: PostgresSessionRow.columns) FROM sessions WHERE id > \(after)"
        if let userID = query.userID {
            sql = "SELECT \(unescaped: PostgresSessionRow.columns) FROM sessions WHERE id > \(after) AND user_id = \(userID)"
        }
        sql.sql += query.includeExpired ? "" : " AND expires_at > \(now)"
        sql.sql += " ORDER BY id LIMIT \(query.limit + 1)"
        let sessions = try await rows(sql, "listing sessions") { try sessionRow($0).session }
        let page = Array(sessions.prefix(query.limit))
        return SessionPage(sessions: page, next: sessions.count > query.limit ? page.last.map { SessionCursor(id: $0.id) } : nil)
    }

    public func count(includeExpired: Bool) async throws -> Int {
        let now = policy.now.millisecondsSince1970
        let query: PostgresQuery = includeExpired
            ? "SELECT count(*) FROM sessions"
            : "SELECT count(*) FROM sessions WHERE expires_at > \(now)"
        return Int(try await rows(query, "counting sessions") { try $0.decode(Int64.self) }.first ?? 0)
    }

    public func stats() async throws -> SessionStoreStats {
        let now = policy.now.millisecondsSince1970
        let figures = try await rows(
            """
            SELECT count(*), count(*) FILTER (WHERE expires_at > \(now)),
                   count(DISTINCT user_id) FILTER (WHERE expires_at > \(now)),
                   (avg(\(now) - created_at) FILTER (WHERE expires_at > \(now)))::bigint
            FROM sessions
            """,
            "reading session statistics",
            decode: { row -> (Int64, Int64, Int64, Int64?) in try row.decode((Int64, Int64, Int64, Int64?).self) }
        ).first ?? (0, 0, 0, nil)
        return SessionStoreStats(
            total: Int(figures.0),
            active: Int(figures.1),
            expired: Int(figures.0 - figures.1),
            users: Int(figures.2),
            averageAge: figures.3.map { .milliseconds($0) },
            writes: writeStats
        )
    }

    /// Deletes up to `limit` expired sessions, in chunks of at most 1,000 rows, each its own
    /// short transaction that skips rows another host's purge holds (`FOR UPDATE SKIP LOCKED`):
    /// every host may purge at once without waiting on each other, deadlocking, or deleting a
    /// row twice. Then trims the change log past ``Configuration/changeRetention``, the same way.
    public func purgeExpired(limit: Int) async throws -> Int {
        try SessionPolicy.validate(limit: limit)
        let now = policy.now.millisecondsSince1970
        var purged = 0
        while purged < limit {
            let chunk = min(1000, limit - purged)
            let deleted = try await execute(
                """
                DELETE FROM sessions WHERE id IN (
                    SELECT id FROM sessions WHERE expires_at <= \(now) ORDER BY expires_at LIMIT \(chunk) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """,
                "purging expired sessions"
            )
            purged += deleted
            if deleted < chunk { break }
        }
        // The log's times are the server's (the triggers write them), so is the cutoff.
        let retention = configuration.changeRetention.wholeMilliseconds
        while try await execute(
            """
            DELETE FROM session_changes WHERE seq IN (
                SELECT seq FROM session_changes WHERE at < sessions_now_ms() - \(retention) ORDER BY seq LIMIT 5000 FOR UPDATE SKIP LOCKED)
            RETURNING seq
            """,
            "trimming the change log"
        ) == 5000 {}
        return purged
    }

    public func healthCheck() async -> SessionStoreHealth {
        do {
            let version = try await rows("SELECT version FROM sessions_schema", "checking health") { try $0.decode(Int64.self) }.first ?? 0
            return SessionStoreHealth(
                status: .healthy,
                message: "PostgreSQL session store at \(endpoint)",
                details: ["backend": "postgres", "endpoint": endpoint, "schema_version": "\(version)"]
            )
        } catch {
            return SessionStoreHealth(
                status: .unhealthy,
                message: "PostgreSQL at \(endpoint) cannot serve: \(error)",
                details: ["backend": "postgres", "endpoint": endpoint, "error": "\(error)"]
            )
        }
    }
}
#endif

#if Postgres
import Foundation
import PostgresNIO
public import Sessions

/// Operations for operators and tools (`sessionctl --postgres`): looking sessions up by hash
/// prefix, their history, figures about the tables, and verification. The same questions the
/// SQLite store answers about its file, asked of the database.
extension PostgresSessionStore {
    /// Sessions whose token hash starts with `prefix` (hex digits, either case), expired or not:
    /// a range scan of the token hash's unique index.
    ///
    /// - Parameters:
    ///   - prefix: Hex digits the token hash starts with.
    ///   - limit: The most to return; ask for two to learn whether a prefix is ambiguous.
    /// - Throws: `SessionStoreError.Code.invalidArgument` when `prefix` is not 1-64 hex digits.
    public func sessions(hashPrefix prefix: String, limit: Int = 2) async throws -> [Session] {
        try SessionPolicy.validate(limit: limit)
        let digits = prefix.lowercased()
        guard (1...64).contains(digits.count), digits.allSatisfy(\.isHexDigit) else {
            throw SessionStoreError(.invalidArgument, "\"\(prefix.prefix(80))\" is not a token or a prefix of a hex token hash")
        }
        let lower = TokenHash(hex: digits.padding(toLength: 64, withPad: "0", startingAt: 0))!
        let upper = TokenHash(hex: digits.padding(toLength: 64, withPad: "f", startingAt: 0))!
        return try await rows(
            """
            SELECT \(unescaped: PostgresSessionRow.columns) FROM sessions
            WHERE token_hash BETWEEN \(lower.bytea) AND \(upper.bytea) ORDER BY token_hash LIMIT \(Int64(limit))
            """,
            "looking sessions up by hash prefix",
            decode: { try sessionRow($0).session }
        )
    }

    /// The session a token opens, expired or not, for tools.
    public func storedSession(for token: SessionToken) async throws -> Session? {
        try await read(token.hash)?.session
    }

    /// What the change log still holds about the session with internal id `id`, oldest first.
    /// The log has no index on the session: this scans it (an hour of changes by default).
    public func history(ofSession id: Int64, limit: Int = 100) async throws -> [SessionChange] {
        try SessionPolicy.validate(limit: limit)
        let newestFirst = try await rows(
            """
            SELECT seq, session_id, token_hash, user_id, kind, at, origin FROM session_changes
            WHERE session_id = \(id) ORDER BY seq DESC LIMIT \(Int64(limit))
            """,
            "reading a session's history"
        ) { row -> SessionChange? in
            let (sequence, sessionID, hash, userID, kind, at, origin) = try row.decode((Int64, Int64?, Data, String?, String, Int64, Int64?).self)
            guard let hash = TokenHash(bytes: Array(hash)), let kind = SessionChange.Kind(rawValue: kind) else { return nil }
            return SessionChange(
                sequence: sequence, sessionID: sessionID, tokenHash: hash, userID: userID, kind: kind,
                at: SessionInstant(millisecondsSince1970: at), origin: origin
            )
        }
        return newestFirst.compactMap { $0 }.reversed()
    }

    /// The users with the most live sessions.
    public func topUsers(limit: Int) async throws -> [UserSessionCount] {
        guard limit > 0 else { return [] }
        let now = policy.now.millisecondsSince1970
        return try await rows(
            """
            SELECT user_id, count(*) AS sessions FROM sessions WHERE user_id IS NOT NULL AND expires_at > \(now)
            GROUP BY user_id ORDER BY sessions DESC, user_id LIMIT \(Int64(limit))
            """,
            "counting sessions per user"
        ) { row in
            let (user, count) = try row.decode((String, Int64).self)
            return UserSessionCount(userID: user, sessions: Int(count))
        }
    }

    /// How many live sessions fall between consecutive `boundaries` of a measure: their age or
    /// their time to live.
    ///
    /// - Returns: `boundaries.count + 1` counts: below the first boundary, between each pair, and
    ///   at or above the last.
    public func distribution(of measure: SessionMeasure, boundaries: [Duration]) async throws -> [Int] {
        let now = policy.now.millisecondsSince1970
        let bounds = boundaries.map(\.wholeMilliseconds).sorted()
        // width_bucket counts how many bounds the value reaches: 0 below the first, n at or above the last.
        let expression = measure == .age ? "\(now) - created_at" : "expires_at - \(now)"
        var query: PostgresQuery = "SELECT 0, count(*) FROM sessions WHERE expires_at > \(now)"
        if !bounds.isEmpty {
            query = """
                SELECT width_bucket(\(unescaped: expression), \(bounds)::bigint[]), count(*) FROM sessions
                WHERE expires_at > \(now) GROUP BY 1
                """
        }
        var counts = [Int](repeating: 0, count: bounds.count + 1)
        for (bucket, count) in try await rows(query, "computing a distribution", decode: { try $0.decode((Int32, Int64).self) }) {
            counts[Int(bucket)] = Int(count)
        }
        return counts
    }

    /// Figures about `session_changes`.
    public func changeLogSummary() async throws -> ChangeLogSummary {
        let totals = try await rows(
            "SELECT count(*), min(seq), max(seq), min(at), max(at) FROM session_changes",
            "summarizing the change log",
            decode: { row -> (Int64, Int64?, Int64?, Int64?, Int64?) in try row.decode((Int64, Int64?, Int64?, Int64?, Int64?).self) }
        ).first ?? (0, nil, nil, nil, nil)
        var summary = ChangeLogSummary(
            entries: Int(totals.0), oldestSequence: totals.1, newestSequence: totals.2,
            oldestAt: totals.3.map { SessionInstant(millisecondsSince1970: $0) },
            newestAt: totals.4.map { SessionInstant(millisecondsSince1970: $0) },
            kinds: [:]
        )
        for (kind, count) in try await rows(
            "SELECT kind, count(*) FROM session_changes GROUP BY kind", "counting change kinds",
            decode: { try $0.decode((String, Int64).self) }
        ) {
            summary.kinds[kind] = Int(count)
        }
        return summary
    }

    /// Deletes the session stored under `hash` (and, when given, with internal id `id`),
    /// expired or not, for tools that found it by hash prefix. Every host's cache drops it.
    ///
    /// - Returns: Whether a row was deleted.
    @discardableResult
    public func deleteStored(_ hash: TokenHash, id: Int64? = nil) async throws -> Bool {
        var condition: PostgresQuery = "token_hash = \(hash.bytea)"
        if let id { condition = "token_hash = \(hash.bytea) AND id = \(id)" }
        let deleted = try await delete(condition, "deleting session \(hash.shortHex)").rows
        if deleted > 0 { countWrite() }
        return deleted > 0
    }

    /// The newest `count` messages of the session with internal id `id`, oldest first, expired
    /// or not: for tools that found a session by hash prefix.
    public func messages(ofSession id: Int64, last count: Int) async throws -> [SessionMessage] {
        try SessionPolicy.validate(limit: count, name: "count")
        return try await messages(ofSessionID: id, last: count, "reading the messages of session \(id)")
    }

    /// What `encryption` makes of the stored data: how many session values and messages are
    /// sealed and open with it, are plain, or fail to open. Reads every value once, a thousand
    /// rows per query, for `sessionctl verify --keys`.
    public func sealedDataCheck(using encryption: SessionEncryption) async throws -> SealedDataCheck {
        var check = SealedDataCheck()
        for table in ["sessions", "session_messages"] {
            let column = table == "sessions" ? "data" : "coalesce(sealed, convert_to(content, 'UTF8'))"
            var after: Int64 = 0
            while true {
                let page = try await rows(
                    "SELECT id, \(unescaped: column) FROM \(unescaped: table) WHERE id > \(after) ORDER BY id LIMIT 1000",
                    "checking sealed data",
                    decode: { try $0.decode((Int64, Data).self) }
                )
                for (_, stored) in page {
                    if table == "sessions" {
                        check.sessions.add(stored, opening: encryption)
                    } else {
                        check.messages.add(stored, opening: encryption)
                    }
                }
                guard page.count == 1000, let last = page.last?.0 else { break }
                after = last
            }
        }
        return check
    }

    /// The server, the schema, and the session tables' sizes, dead rows and last vacuums.
    public func databaseInfo() async throws -> PostgresDatabaseInfo {
        let (database, schemaName, server, version) = try await rows(
            "SELECT current_database()::text, current_schema()::text, current_setting('server_version'), (SELECT version FROM sessions_schema)",
            "reading database information",
            decode: { try $0.decode((String, String, String, Int64).self) }
        ).first ?? ("", "", "", Int64(0))
        let tables = try await rows(
            """
            SELECT relname::text, pg_total_relation_size(relid), n_live_tup, n_dead_tup,
                   (extract(epoch FROM greatest(last_autovacuum, last_vacuum)) * 1000)::bigint
            FROM pg_stat_user_tables
            WHERE schemaname = current_schema() AND relname IN ('sessions', 'session_changes', 'session_messages')
            ORDER BY relname
            """,
            "reading table statistics"
        ) { row in
            let (name, bytes, live, dead, vacuumed) = try row.decode((String, Int64, Int64, Int64, Int64?).self)
            return PostgresDatabaseInfo.Table(
                name: name, totalBytes: bytes, liveRows: live, deadRows: dead,
                lastVacuumAt: vacuumed.map { SessionInstant(millisecondsSince1970: $0) }
            )
        }
        return PostgresDatabaseInfo(
            endpoint: endpoint, database: database, schema: schemaName, serverVersion: server,
            schemaVersion: version, latestSchemaVersion: PostgresSchema.latestVersion, tables: tables
        )
    }

    /// Checks the database: the schema version, the triggers and indexes the store relies on,
    /// and the invariants of the rows. Notes what breaks nothing yet: a change log no purge has
    /// trimmed, dead rows autovacuum has not reclaimed.
    public func verification() async throws -> SessionStoreVerification {
        let now = policy.now.millisecondsSince1970
        var problems: [String] = []
        var notes: [String] = []
        let version = try await rows("SELECT version FROM sessions_schema", "reading the schema version") { try $0.decode(Int64.self) }.first ?? 0
        if version != PostgresSchema.latestVersion {
            problems.append("schema version is \(version), the library expects \(PostgresSchema.latestVersion)")
        }
        let triggers = try await count(
            """
            SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relname = 'sessions' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
              AND t.tgname IN ('sessions_revision', 'sessions_log') AND t.tgenabled <> 'D'
            """
        )
        if triggers != 2 {
            problems.append("\(2 - triggers) of the triggers sessions_revision and sessions_log are missing or disabled: writes are not compared and other hosts' caches do not learn of changes")
        }
        let indexes = ["sessions_expires_at_idx", "sessions_user_idx", "session_changes_at_idx", "session_messages_session_idx"]
        let validIndexes = try await count(
            """
            SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND c.relname = ANY(\(indexes)) AND i.indisvalid
            """
        )
        if validIndexes != indexes.count {
            problems.append("\(indexes.count - validIndexes) of the indexes \(indexes.joined(separator: ", ")) are missing or invalid (REINDEX them)")
        }
        let checks: [(PostgresQuery, String)] = [
            (
                "SELECT count(*) FROM sessions WHERE expires_at IS DISTINCT FROM least(last_seen_at + idle_timeout_ms, absolute_expires_at)",
                "sessions whose expires_at does not match their idle timeout and absolute deadline"
            ),
            ("SELECT count(*) FROM sessions WHERE version < 1 OR updated_at < created_at", "sessions with an impossible version or update time"),
            ("SELECT count(*) FROM sessions WHERE created_at > \(now) + 86400000", "sessions created more than a day in the future"),
            ("SELECT count(*) FROM sessions WHERE user_id = ''", "sessions whose user is the empty string"),
        ]
        for (query, description) in checks {
            let found = try await count(query)
            if found != 0 { problems.append("\(found) \(description)") }
        }
        let retention = configuration.changeRetention.wholeMilliseconds
        let stale = try await count("SELECT count(*) FROM session_changes WHERE at < sessions_now_ms() - \(retention * 2)")
        if stale != 0 {
            notes.append("\(stale) change-log entries are more than twice the retention old: no host has purged lately (sessionctl purge, or a SessionSweeper on one host)")
        }
        for table in try await databaseInfo().tables where table.deadRows > 1000 && table.deadRows > table.liveRows / 5 {
            notes.append("\(table.name) has \(table.deadRows) dead rows beside \(table.liveRows) live ones: autovacuum is behind (see the PostgresSessions article \"Sessions in PostgreSQL\")")
        }
        return SessionStoreVerification(problems: problems, notes: notes)
    }

    private func count(_ query: PostgresQuery) async throws(SessionStoreError) -> Int {
        Int(try await rows(query, "verifying", decode: { try $0.decode(Int64.self) }).first ?? 0)
    }

    /// Where the store connects, for messages: host and port, or the socket's path.
    package var endpoint: String {
        "\(configuration.client.host ?? configuration.client.unixSocketPath ?? "?"):\(configuration.client.port ?? 5432)"
    }
}

/// The server and the session tables, as ``PostgresSessionStore/databaseInfo()`` reads them.
public struct PostgresDatabaseInfo: Sendable, Hashable, Codable {
    /// One session table's figures, from `pg_stat_user_tables`.
    public struct Table: Sendable, Hashable, Codable {
        /// The table's name: `sessions`, `session_changes` or `session_messages`.
        public var name: String
        /// Table, indexes and TOAST (`pg_total_relation_size`).
        public var totalBytes: Int64
        /// The statistics collector's estimates of live and dead rows.
        public var liveRows: Int64
        /// The estimate of dead rows (`n_dead_tup`): old row versions vacuum has not reclaimed yet.
        public var deadRows: Int64
        /// The last vacuum, by autovacuum or by hand; nil when none ran since statistics were reset.
        public var lastVacuumAt: SessionInstant?
    }

    /// Host and port.
    public var endpoint: String
    /// The database's name (`current_database()`).
    public var database: String
    /// The PostgreSQL schema the tables live in.
    public var schema: String
    /// The server's version (`server_version`).
    public var serverVersion: String
    /// The version of the session tables in the database (`sessions_schema`).
    public var schemaVersion: Int64
    /// The newest schema version this library knows and migrates to.
    public var latestSchemaVersion: Int64
    /// The session tables' figures, in order of name.
    public var tables: [Table]
}
#endif

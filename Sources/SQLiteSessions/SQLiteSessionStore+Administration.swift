import Foundation
public import Sessions

/// Operations for operators and tools (`sessionctl`): looking sessions up by hash prefix, their
/// history, figures about the file, verification and maintenance.
extension SQLiteSessionStore {
    /// Sessions whose token hash starts with `prefix` (hex digits, either case), expired or not.
    ///
    /// Only sessions from before schema 3 have an index on their hash; the others are found by a
    /// scan of the table, which is for tools, not for serving.
    ///
    /// - Parameters:
    ///   - prefix: Hex digits the token hash starts with.
    ///   - limit: The most to return; ask for two to learn whether a prefix is ambiguous.
    /// - Throws: `SessionStoreError.Code.invalidArgument` when `prefix` is not 1-64 hex digits.
    public func sessions(hashPrefix prefix: String, limit: Int = 2) async throws -> [Session] {
        try checkOpen()
        let digits = prefix.lowercased()
        guard (1...64).contains(digits.count), digits.allSatisfy(\.isHexDigit) else {
            throw SessionStoreError(.invalidArgument, "\"\(prefix.prefix(80))\" is not a token or a prefix of a hex token hash")
        }
        // Hashes starting with the prefix lie between the prefix padded with 0s and with fs.
        let lower = TokenHash(hex: digits.padding(toLength: 64, withPad: "0", startingAt: 0))!
        let upper = TokenHash(hex: digits.padding(toLength: 64, withPad: "f", startingAt: 0))!
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement(
                "SELECT \(SessionSQL.sessionColumns) FROM sessions WHERE token_hash BETWEEN ?1 AND ?2 ORDER BY token_hash LIMIT ?3"
            )
            defer { statement.reset() }
            statement.bind(lower, at: 1)
            statement.bind(upper, at: 2)
            statement.bind(limit, at: 3)
            return try SessionRow.readAll(statement, codec: connection.codec, context: "looking sessions up by hash prefix")
        }
    }

    /// The session a token opens, expired or not, for tools: one primary-key lookup by the
    /// token's selector (or, for a session from before schema 3, by its hash).
    public func storedSession(for token: SessionToken) async throws -> Session? {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            try connection.session(for: token, liveAt: nil)
        }
    }

    /// What the change log still holds about the session with internal id `id`, oldest first.
    public func history(ofSession id: Int64, limit: Int = 100) async throws -> [SessionChange] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement(
                "SELECT seq, session_id, token_hash, user_id, kind, at, origin FROM session_changes WHERE session_id = ?1 ORDER BY seq DESC LIMIT ?2"
            )
            defer { statement.reset() }
            statement.bind(id, at: 1)
            statement.bind(limit, at: 2)
            var changes: [SessionChange] = []
            while try statement.step("reading a session's history") {
                guard let hash = statement.tokenHash(2), let kind = SessionChange.Kind(rawValue: statement.string(4)) else { continue }
                changes.append(SessionChange(
                    sequence: statement.int64(0), sessionID: statement.optionalInt64(1), tokenHash: hash,
                    userID: statement.optionalString(3), kind: kind,
                    at: SessionInstant(millisecondsSince1970: statement.int64(5)), origin: statement.optionalInt64(6)
                ))
            }
            return changes.reversed()
        }
    }

    /// The users with the most live sessions.
    public func topUsers(limit: Int) async throws -> [UserSessionCount] {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("""
                SELECT user_id, count(*) AS sessions FROM sessions WHERE user_id IS NOT NULL AND expires_at > ?1 \
                GROUP BY user_id ORDER BY sessions DESC, user_id LIMIT ?2
                """)
            defer { statement.reset() }
            statement.bind(now.millisecondsSince1970, at: 1)
            statement.bind(limit, at: 2)
            var users: [UserSessionCount] = []
            while try statement.step("counting sessions per user") {
                users.append(UserSessionCount(userID: statement.string(0), sessions: Int(statement.int64(1))))
            }
            return users
        }
    }

    /// How many live sessions fall between consecutive `boundaries` of a measure: their age
    /// (time since creation) or their time to live.
    ///
    /// - Returns: `boundaries.count + 1` counts: below the first boundary, between each pair, and
    ///   at or above the last.
    public func distribution(of measure: SessionMeasure, boundaries: [Duration]) async throws -> [Int] {
        try checkOpen()
        let now = policy.now.millisecondsSince1970
        let bounds = boundaries.map(\.wholeMilliseconds).sorted()
        let expression = measure == .age ? "\(now) - created_at" : "expires_at - \(now)"
        let cases = bounds.enumerated().map { "WHEN \(expression) < \($1) THEN \($0)" }.joined(separator: " ")
        let sql = """
            SELECT CASE \(cases) ELSE \(bounds.count) END AS bucket, count(*) FROM sessions \
            WHERE expires_at > \(now) GROUP BY bucket
            """
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.prepare(sql)
            var counts = [Int](repeating: 0, count: bounds.count + 1)
            while try statement.step("computing a distribution") {
                counts[Int(statement.int64(0))] = Int(statement.int64(1))
            }
            return counts
        }
    }

    /// Figures about `session_changes`.
    public func changeLogSummary() async throws -> ChangeLogSummary {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            let totals = try connection.prepare("SELECT count(*), min(seq), max(seq), min(at), max(at) FROM session_changes")
            _ = try totals.step("summarizing the change log")
            var summary = ChangeLogSummary(
                entries: Int(totals.int64(0)),
                oldestSequence: totals.optionalInt64(1),
                newestSequence: totals.optionalInt64(2),
                oldestAt: totals.optionalInt64(3).map { SessionInstant(millisecondsSince1970: $0) },
                newestAt: totals.optionalInt64(4).map { SessionInstant(millisecondsSince1970: $0) },
                kinds: [:]
            )
            let kinds = try connection.prepare("SELECT kind, count(*) FROM session_changes GROUP BY kind")
            while try kinds.step("counting change kinds") {
                summary.kinds[kinds.string(0)] = Int(kinds.int64(1))
            }
            return summary
        }
    }

    /// Checks the file: SQLite's `integrity_check`, the schema version, and the invariants the
    /// store relies on.
    ///
    /// - Returns: One line per problem; empty when everything holds.
    public func verify() async throws -> [String] {
        try await verification().problems
    }

    /// What ``verify()`` checks, with what it noticed that is not a problem: change-log entries
    /// older than the one before them (a wall clock stepped back, as NTP makes it do).
    public func verification() async throws -> SessionStoreVerification {
        try checkOpen()
        let now = policy.now.millisecondsSince1970
        return try await read { connection throws(SessionStoreError) in
            var problems: [String] = []
            let integrity = try connection.prepare("PRAGMA integrity_check")
            while try integrity.step("checking integrity") {
                let line = integrity.string(0)
                if line != "ok" { problems.append("integrity: \(line)") }
            }
            let version = try SchemaMigrator.version(of: connection)
            if version != SessionSchema.latestVersion {
                problems.append("schema version is \(version), the library expects \(SessionSchema.latestVersion)")
            }
            let checks: [(String, String)] = [
                ("""
                    SELECT count(*) FROM sessions WHERE expires_at IS NOT CASE \
                    WHEN idle_timeout_ms IS NULL THEN absolute_expires_at \
                    WHEN absolute_expires_at IS NULL THEN last_seen_at + idle_timeout_ms \
                    ELSE min(last_seen_at + idle_timeout_ms, absolute_expires_at) END
                    """, "sessions whose expires_at does not match their idle timeout and absolute deadline"),
                ("""
                    SELECT abs((SELECT count(*) FROM sessions NOT INDEXED WHERE user_id IS NOT NULL) - \
                    (SELECT count(*) FROM sessions INDEXED BY sessions_user_idx WHERE user_id IS NOT NULL))
                    """, "sessions with a user missing from the per-user index"),
                // Schema 3 dropped the UNIQUE index on token_hash (hashes of 192 random bits do not collide).
                ("SELECT count(*) - count(DISTINCT token_hash) FROM sessions", "sessions sharing a token hash with another"),
                ("SELECT count(*) FROM sessions WHERE metadata IS NOT NULL AND NOT json_valid(metadata)", "sessions whose metadata is not valid JSON"),
                ("SELECT count(*) FROM sessions WHERE version < 1 OR updated_at < created_at", "sessions with an impossible version or update time"),
                ("""
                    SELECT CASE WHEN count(*) = 0 THEN 0 ELSE max(seq) - min(seq) + 1 - count(*) END FROM session_changes
                    """, "sequence numbers missing from the middle of the change log"),
                ("""
                    SELECT count(*) FROM session_changes WHERE seq > \
                    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'session_changes'), 0)
                    """, "change-log entries beyond the recorded last sequence"),
                ("""
                    SELECT count(*) FROM replication_cursors WHERE seq > \
                    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'session_changes'), 0)
                    """, "replication cursors beyond the last change"),
                ("SELECT count(*) FROM sessions WHERE created_at > \(now) + 86400000", "sessions created more than a day in the future"),
            ]
            for (sql, description) in checks {
                let count = try connection.integer(sql, "verifying: \(description)") ?? 0
                if count != 0 { problems.append("\(count) \(description)") }
            }
            var notes: [String] = []
            let backwards = try connection.integer(
                "SELECT count(*) FROM (SELECT at, lag(at) OVER (ORDER BY seq) AS previous FROM session_changes) WHERE at < previous - 1000",
                "looking for change-log times that go back"
            ) ?? 0
            if backwards != 0 {
                notes.append("\(backwards) change-log entr\(backwards == 1 ? "y is" : "ies are") more than a second older than the entry before (a writer's clock stepped back)")
            }
            return SessionStoreVerification(problems: problems, notes: notes)
        }
    }

    /// Copies the write-ahead log into the database file and truncates it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`), waiting for readers up to the busy timeout.
    ///
    /// - Returns: Whether it completed (false when readers kept part of the log in use), the
    ///   log's size in pages before, and the pages copied.
    public func checkpoint() async throws -> (completed: Bool, logPages: Int, checkpointedPages: Int) {
        try checkOpen()
        return try await writer.writeAlone { connection throws(SessionStoreError) in
            let statement = try connection.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
            _ = try statement.step("checkpointing")
            return (statement.int64(0) == 0, Int(statement.int64(1)), Int(statement.int64(2)))
        }
    }

    /// Rebuilds the file without its free pages (`VACUUM`). Writers wait until it finishes.
    public func vacuum() async throws {
        try checkOpen()
        try await writer.writeAlone { connection throws(SessionStoreError) in
            try connection.execute("VACUUM", "vacuuming")
        }
    }

    /// Calls `body` with every session, in id order, from one consistent snapshot of the file,
    /// reading one row at a time, so memory stays constant however many there are.
    ///
    /// Blocks the calling thread for as long as it runs: call it from a tool or a thread of
    /// your own, not from a request handler.
    public func forEachSession(includeExpired: Bool, _ body: (Session) throws -> Void) throws {
        try checkOpen()
        let now = policy.now.millisecondsSince1970
        try readers.read { connection throws(SessionStoreError) in
            let statement = try connection.prepare(
                "SELECT \(SessionSQL.sessionColumns) FROM sessions WHERE ?1 OR expires_at > ?2 ORDER BY id"
            )
            statement.bind(includeExpired ? 1 : 0, at: 1)
            statement.bind(now, at: 2)
            while try statement.step("reading every session") {
                let session = try SessionRow.read(statement, codec: connection.codec)
                do {
                    try body(session)
                } catch let error as SessionStoreError {
                    throw error
                } catch {
                    throw SessionStoreError(.internalError, "while reading every session: \(error)")
                }
            }
        }
    }

    /// The schema version recorded in a file, without opening it as a store; nil for an empty or missing file.
    public static func schemaVersion(ofFileAt path: String) throws -> Int? {
        try DatabaseFileCheck.check(path: path)
        guard let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size > 0 else { return nil }
        let connection = try SQLiteConnection(path: path, mode: .readOnly, busyTimeout: .seconds(5))
        return Int(try SchemaMigrator.version(of: connection))
    }
}

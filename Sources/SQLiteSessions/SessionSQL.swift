import Sessions

/// Every statement the store runs on its hot paths. Each connection caches their prepared forms
/// in an array indexed by the case, so a lookup costs no hashing of SQL text.
enum SessionSQL: Int, CaseIterable {
    case begin
    case commit
    case rollback
    case savepoint
    case releaseSavepoint
    case rollbackToSavepoint

    case selectLiveByID
    case selectByID
    case selectLiveLegacy
    case selectLegacy
    case selectByHashScan
    case selectUserSessionByHash
    case maxSessionID
    case maxLegacySessionID
    case insertSessionWithID
    case updateSession
    case updateToken
    case updateLimits
    case touchSession
    case deleteByID
    case selectUserSessions
    case deleteUserSessions
    case listAll
    case listByUser
    case countAll
    case countLive
    case totals
    case activeUsers
    case purgeExpired
    case logExpired

    case insertChange
    case selectChanges
    case lastChangeSequence
    case oldestCursor
    case firstYoungChange
    case trimChanges
    case changeLogLength

    /// Ids below this are sessions from before schema 3 (and imports whose token's selector is
    /// unknown): found by hash through `sessions_legacy_token_idx`. Every selector is above it.
    static let legacyIDLimit: Int64 = 1 << 32

    /// The assignments that stamp a content write: `clock` becomes the writer's ``HybridClock``
    /// reading (parameter `?n`) or, should the wall clock have stepped back since the row was last
    /// written, the smallest reading after the row's with the writer's host bits, so a host's
    /// later write never loses to its earlier one; `base_clock` keeps the reading it started from.
    static func stampingClock(_ n: Int) -> String {
        "base_clock = clock, clock = max(?\(n), (((clock >> 10) + 1) << 10) | (?\(n) & 1023))"
    }

    /// Whether `session` was created before the clock reading `point` ("log out everywhere"
    /// ends those): its id is the reading of its creation; a session found by hash (its id is
    /// below ``legacyIDLimit``) is compared by its creation time with the point's milliseconds.
    /// The sync script in Redis decides the same way.
    static func createdBefore(_ session: Session, _ point: Int64) -> Bool {
        session.id >= legacyIDLimit
            ? session.id < point
            : session.createdAt.millisecondsSince1970 < HybridClock.milliseconds(of: point)
    }

    /// ``createdBefore(_:_:)`` in SQL over the `sessions` columns, with the point as `?2`.
    static let createdBeforeSQL = "(CASE WHEN id >= \(legacyIDLimit) THEN id < ?2 ELSE created_at < (?2 >> 20) END)"

    /// The columns ``SessionRow`` reads, in order.
    static let sessionColumns = """
        id, token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at, \
        idle_timeout_ms, absolute_expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent
        """

    var sql: String {
        let columns = Self.sessionColumns
        switch self {
        case .begin: return "BEGIN IMMEDIATE"
        case .commit: return "COMMIT"
        case .rollback: return "ROLLBACK"
        case .savepoint: return "SAVEPOINT operation"
        case .releaseSavepoint: return "RELEASE operation"
        case .rollbackToSavepoint: return "ROLLBACK TO operation"

        case .selectLiveByID:
            return "SELECT \(columns) FROM sessions WHERE id = ?1 AND expires_at > ?2"
        case .selectByID:
            return "SELECT \(columns) FROM sessions WHERE id = ?1"
        case .selectLiveLegacy:
            // The id bound matches sessions_legacy_token_idx's WHERE, so the planner uses it.
            return "SELECT \(columns) FROM sessions WHERE token_hash = ?1 AND id < \(SessionSQL.legacyIDLimit) AND expires_at > ?2"
        case .selectLegacy:
            return "SELECT \(columns) FROM sessions WHERE token_hash = ?1 AND id < \(SessionSQL.legacyIDLimit)"
        case .selectByHashScan:
            return "SELECT \(columns) FROM sessions WHERE token_hash = ?1"
        case .selectUserSessionByHash:
            return "SELECT \(columns) FROM sessions WHERE user_id = ?1 AND token_hash = ?2"
        case .maxSessionID:
            return "SELECT coalesce(max(id), 0) FROM sessions"
        case .maxLegacySessionID:
            return "SELECT coalesce(max(id), 0) FROM sessions WHERE id < \(SessionSQL.legacyIDLimit)"
        case .insertSessionWithID:
            return """
                INSERT INTO sessions (token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at, \
                idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent, id, \
                clock, base_clock) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, coalesce(?18, 0))
                """
        case .updateSession:
            return """
                UPDATE sessions SET token_hash = ?1, user_id = ?2, data = ?3, metadata = ?4, updated_at = ?6, \
                last_seen_at = ?7, idle_timeout_ms = ?8, absolute_expires_at = ?9, expires_at = ?10, version = ?11, \
                last_seen_ip = ?14, last_seen_user_agent = ?15, \(Self.stampingClock(17)) WHERE id = ?16
                """
        case .updateToken:
            return """
                UPDATE sessions SET token_hash = ?2, updated_at = ?3, last_seen_at = ?3, expires_at = ?4, version = ?5, \
                \(Self.stampingClock(6)) WHERE id = ?1
                """
        case .updateLimits:
            return """
                UPDATE sessions SET last_seen_at = ?2, idle_timeout_ms = ?3, absolute_expires_at = ?4, expires_at = ?5, \
                version = ?6, last_seen_ip = ?7, last_seen_user_agent = ?8, \(Self.stampingClock(9)) WHERE id = ?1
                """
        case .touchSession:
            return """
                UPDATE sessions SET last_seen_at = ?2, expires_at = ?3, last_seen_ip = ?4, last_seen_user_agent = ?5 \
                WHERE id = ?1
                """
        case .deleteByID:
            return "DELETE FROM sessions WHERE id = ?1"
        case .selectUserSessions:
            return "SELECT \(columns) FROM sessions WHERE user_id = ?1 AND expires_at > ?2 ORDER BY created_at, id"
        case .deleteUserSessions:
            return "DELETE FROM sessions WHERE user_id = ?1 RETURNING id, token_hash, expires_at, absolute_expires_at"
        case .listAll:
            return "SELECT \(columns) FROM sessions WHERE id > ?1 AND (?2 OR expires_at > ?3) ORDER BY id LIMIT ?4"
        case .listByUser:
            return """
                SELECT \(columns) FROM sessions WHERE user_id = ?5 AND id > ?1 AND (?2 OR expires_at > ?3) \
                ORDER BY id LIMIT ?4
                """
        case .countAll:
            return "SELECT count(*) FROM sessions"
        case .countLive:
            return "SELECT count(*) FROM sessions WHERE expires_at > ?1"
        case .totals:
            return """
                SELECT count(*), coalesce(sum(expires_at > ?1), 0), \
                coalesce(sum(CASE WHEN expires_at > ?1 THEN ?1 - created_at END), 0) FROM sessions
                """
        case .activeUsers:
            return "SELECT count(DISTINCT user_id) FROM sessions WHERE user_id IS NOT NULL AND expires_at > ?1"
        case .purgeExpired:
            // The same rows, in the same order, as logExpired logs just before it.
            return """
                DELETE FROM sessions WHERE id IN \
                (SELECT id FROM sessions WHERE expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2)
                """
        case .logExpired:
            return """
                INSERT INTO session_changes (session_id, token_hash, user_id, kind, at, origin) \
                SELECT id, token_hash, user_id, 'expired', ?1, ?3 FROM sessions \
                WHERE expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2
                """

        case .insertChange:
            return """
                INSERT INTO session_changes (session_id, token_hash, user_id, kind, at, origin, message_id) \
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """
        case .selectChanges:
            return """
                SELECT seq, session_id, token_hash, user_id, kind, at, origin, message_id FROM session_changes \
                WHERE seq > ?1 ORDER BY seq LIMIT ?2
                """
        case .lastChangeSequence:
            return "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'session_changes'), 0)"
        case .oldestCursor:
            return "SELECT min(seq) FROM replication_cursors"
        case .firstYoungChange:
            return "SELECT seq FROM session_changes WHERE at >= ?1 ORDER BY seq LIMIT 1"
        case .trimChanges:
            return "DELETE FROM session_changes WHERE seq IN (SELECT seq FROM session_changes WHERE seq < ?1 ORDER BY seq LIMIT ?2)"
        case .changeLogLength:
            // Sequence numbers have no holes, and each bound is one index step.
            return "SELECT coalesce((SELECT max(seq) FROM session_changes) - (SELECT min(seq) FROM session_changes) + 1, 0)"
        }
    }
}

/// Every statement the store runs on its hot paths. Each connection caches their prepared forms
/// in an array indexed by the case, so a lookup costs no hashing of SQL text.
enum SessionSQL: Int, CaseIterable {
    case begin
    case commit
    case rollback
    case savepoint
    case releaseSavepoint
    case rollbackToSavepoint

    case selectLiveByHash
    case selectByHash
    case selectLiveByID
    case insertSession
    case insertSessionWithID
    case updateSession
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

    case insertChange
    case selectChanges
    case lastChangeSequence
    case oldestCursor
    case firstYoungChange
    case trimChanges

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

        case .selectLiveByHash:
            return "SELECT \(columns) FROM sessions WHERE token_hash = ?1 AND expires_at > ?2"
        case .selectByHash:
            return "SELECT \(columns) FROM sessions WHERE token_hash = ?1"
        case .selectLiveByID:
            return "SELECT \(columns) FROM sessions WHERE id = ?1 AND expires_at > ?2"
        case .insertSession:
            return """
                INSERT INTO sessions (token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at, \
                idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent) \
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                """
        case .insertSessionWithID:
            return """
                INSERT INTO sessions (token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at, \
                idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent, id) \
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                """
        case .updateSession:
            return """
                UPDATE sessions SET token_hash = ?2, user_id = ?3, data = ?4, metadata = ?5, updated_at = ?6, \
                last_seen_at = ?7, idle_timeout_ms = ?8, absolute_expires_at = ?9, expires_at = ?10, version = ?11, \
                last_seen_ip = ?12, last_seen_user_agent = ?13 WHERE id = ?1
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
            return "DELETE FROM sessions WHERE user_id = ?1 RETURNING id, token_hash, expires_at"
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
            return """
                DELETE FROM sessions WHERE id IN \
                (SELECT id FROM sessions WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2) \
                RETURNING id, token_hash, user_id
                """

        case .insertChange:
            return """
                INSERT INTO session_changes (session_id, token_hash, user_id, kind, at, origin) \
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                """
        case .selectChanges:
            return """
                SELECT seq, session_id, token_hash, user_id, kind, at, origin FROM session_changes \
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
        }
    }
}

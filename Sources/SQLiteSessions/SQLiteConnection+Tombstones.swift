import Sessions

/// `session_tombstones` and `user_revocations`: what a store that shares its sessions with other
/// hosts remembers of its deletions (see ``SharingSettings``).
extension SQLiteConnection {
    /// Remembers that `hash` (of session `id`, when known) must stay refused until `until`, and
    /// why (`kind`: deleted, revoked, rotated out, evicted); an existing tombstone only lengthens,
    /// and a deletion outranks a rotation.
    func recordTombstone(_ hash: TokenHash, id: Int64?, kind: SessionChange.Kind, until: SessionInstant) throws(SessionStoreError) {
        let statement = try cachedStatement("""
            INSERT INTO session_tombstones (token_hash, session_id, kind, until) VALUES (?1, ?3, ?4, ?2)
            ON CONFLICT (token_hash) DO UPDATE SET until = max(until, excluded.until), \
            session_id = coalesce(session_id, excluded.session_id), \
            kind = CASE WHEN kind = 'rotated_out' THEN excluded.kind ELSE kind END
            """)
        defer { statement.reset() }
        statement.bind(hash, at: 1)
        statement.bind(until.millisecondsSince1970, at: 2)
        statement.bind(id, at: 3)
        statement.bind(kind.rawValue, at: 4)
        try statement.run("remembering a deleted token")
    }

    /// Why `hash` is refused at `now`, or nil when it is not.
    func tombstone(of hash: TokenHash, at now: SessionInstant) throws(SessionStoreError) -> SessionChange.Kind? {
        let statement = try cachedStatement("SELECT kind FROM session_tombstones WHERE token_hash = ?1 AND until > ?2")
        defer { statement.reset() }
        statement.bind(hash, at: 1)
        statement.bind(now.millisecondsSince1970, at: 2)
        return try statement.step("looking for a deleted token") ? SessionChange.Kind(rawValue: statement.string(0)) ?? .deleted : nil
    }

    /// Moves `userID`'s revocation point forward to the clock reading `before` (never back),
    /// kept until `until`.
    func recordRevocation(ofUser userID: String, before: Int64, until: SessionInstant) throws(SessionStoreError) {
        let statement = try cachedStatement("""
            INSERT INTO user_revocations (user_id, revoked_before, until) VALUES (?1, ?2, ?3)
            ON CONFLICT (user_id) DO UPDATE SET revoked_before = max(revoked_before, excluded.revoked_before),
            until = max(until, excluded.until)
            """)
        defer { statement.reset() }
        statement.bind(userID, at: 1)
        statement.bind(before, at: 2)
        statement.bind(until.millisecondsSince1970, at: 3)
        try statement.run("remembering a user's revocation")
    }

    /// `userID`'s revocation point, a clock reading, if one is kept at `now`: sessions created
    /// before it are refused.
    func revocationPoint(ofUser userID: String, at now: SessionInstant) throws(SessionStoreError) -> Int64? {
        let statement = try cachedStatement("SELECT revoked_before FROM user_revocations WHERE user_id = ?1 AND until > ?2")
        defer { statement.reset() }
        statement.bind(userID, at: 1)
        statement.bind(now.millisecondsSince1970, at: 2)
        return try statement.step("reading a user's revocation") ? statement.int64(0) : nil
    }

    /// Whether a copy of `session` must be refused: its token was deleted, or its user logged
    /// out everywhere after it was created.
    func isRevoked(_ session: Session, at now: SessionInstant) throws(SessionStoreError) -> Bool {
        if try tombstone(of: session.tokenHash, at: now) != nil { return true }
        guard let user = session.userID, let point = try revocationPoint(ofUser: user, at: now) else { return false }
        return SessionSQL.createdBefore(session, point)
    }

    /// Forgets tombstones and revocation points that no longer matter; at most `limit` of each.
    func forgetExpiredTombstones(at now: SessionInstant, limit: Int) throws(SessionStoreError) {
        for sql in [
            "DELETE FROM session_tombstones WHERE token_hash IN (SELECT token_hash FROM session_tombstones WHERE until <= ?1 ORDER BY until LIMIT ?2)",
            "DELETE FROM user_revocations WHERE user_id IN (SELECT user_id FROM user_revocations WHERE until <= ?1 LIMIT ?2)",
        ] {
            let statement = try cachedStatement(sql)
            defer { statement.reset() }
            statement.bind(now.millisecondsSince1970, at: 1)
            statement.bind(limit, at: 2)
            try statement.run("forgetting old tombstones")
        }
    }
}

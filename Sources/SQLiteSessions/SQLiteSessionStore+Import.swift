public import Sessions

extension SQLiteSessionStore {
    /// How an imported session compared with what the file held.
    public enum ImportOutcome: Sendable, Hashable {
        /// The token hash was new: the session was inserted with a new local id.
        case inserted
        /// A session with the token hash existed and differed: it was replaced.
        case replaced
        /// An identical session existed: nothing was written.
        case unchanged
    }

    /// Stores sessions as they are (token hash, data, times, version and all), inserting new
    /// ones and replacing existing ones with the same token hash, in one transaction. Each
    /// change is logged, so caches, replication and events see it.
    ///
    /// This is how `sessionctl import` restores an export, and how a session created on another
    /// host is adopted from Redis. A replaced session keeps its local id; a new one keeps its own
    /// id when the file has no session with that id (so an export imported into an empty file
    /// reproduces every row), and gets a fresh one otherwise.
    ///
    /// An id at or above 2^32 is taken to be the selector of the session's token (as this store
    /// mints them), so the token finds the row by it. A session that cannot keep such an id gets
    /// one below 2^32, where sessions are found by their token hash instead.
    ///
    /// Every session is checked first (`SessionPolicy.validateImported(_:)`: the
    /// rules ``verify()`` and the schema enforce, and the policy's limits); one that breaks a
    /// rule fails the call before anything is written.
    ///
    /// - Returns: What happened to each session, in order.
    public func importSessions(_ sessions: [Session]) async throws -> [ImportOutcome] {
        try checkOpen()
        for session in sessions { try policy.validateImported(session) }
        let (policy, origin, clock) = (self.policy, self.origin, self.clock)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            var outcomes: [ImportOutcome] = []
            outcomes.reserveCapacity(sessions.count)
            for session in sessions {
                if let existing = try connection.session(hash: session.tokenHash, id: session.id) {
                    let replacement = Session(
                        id: existing.id,
                        tokenHash: session.tokenHash,
                        userID: session.userID,
                        data: session.data,
                        metadata: session.metadata,
                        createdAt: session.createdAt,
                        updatedAt: session.updatedAt,
                        lastSeenAt: session.lastSeenAt,
                        deadlines: session.deadlines,
                        version: session.version,
                        ip: session.ip,
                        userAgent: session.userAgent,
                        lastSeenIP: session.lastSeenIP,
                        lastSeenUserAgent: session.lastSeenUserAgent
                    )
                    guard replacement != existing else {
                        outcomes.append(.unchanged)
                        continue
                    }
                    try connection.replaceImported(StoredSessionRow(replacement, codec: connection.codec), clock: clock.next(at: now))
                    try connection.logChange(.updated, sessionID: existing.id, tokenHash: session.tokenHash, userID: session.userID, at: now, origin: origin)
                    outcomes.append(.replaced)
                } else {
                    let id = try connection.insertImported(StoredSessionRow(session, codec: connection.codec), clock: clock.next(at: now))
                    try connection.logChange(.created, sessionID: id, tokenHash: session.tokenHash, userID: session.userID, at: now, origin: origin)
                    outcomes.append(.inserted)
                }
            }
            return outcomes
        }
    }
}

extension SQLiteConnection {
    /// Inserts a session, with its own id when that id is free, and otherwise with the next id of
    /// those found by hash; its contents written at `clock`, from `baseClock`.
    func insertImported(_ row: StoredSessionRow, clock: Int64, baseClock: Int64 = 0) throws(SessionStoreError) -> Int64 {
        let session = row.session
        let taken = try cachedStatement("SELECT 1 FROM sessions WHERE id = ?1")
        taken.bind(session.id, at: 1)
        let isTaken = try taken.step("checking an imported session's id")
        taken.reset()
        var id = session.id
        if id <= 0 || isTaken {
            id = try maxSessionID(legacy: true) + 1
            guard id < SessionSQL.legacyIDLimit else {
                throw SessionStoreError(.storageFull, "no id below 2^32 is left for imported sessions")
            }
        }
        try insert(row.with(id: id, tokenHash: session.tokenHash), clock: clock, baseClock: baseClock)
        return id
    }

    /// Overwrites every field of an existing row, creation time and client included; the contents
    /// written at `clock` (from `baseClock`, or from the row's own clock when nil).
    func replaceImported(_ row: StoredSessionRow, clock: Int64, baseClock: Int64? = nil) throws(SessionStoreError) {
        let statement = try cachedStatement("""
            UPDATE sessions SET token_hash = ?1, user_id = ?2, data = ?3, metadata = ?4, created_at = ?5, updated_at = ?6, \
            last_seen_at = ?7, idle_timeout_ms = ?8, absolute_expires_at = ?9, expires_at = ?10, version = ?11, \
            ip = ?12, user_agent = ?13, last_seen_ip = ?14, last_seen_user_agent = ?15, \
            base_clock = coalesce(?18, clock), clock = ?17 WHERE id = ?16
            """)
        defer { statement.reset() }
        SessionRow.bind(row, clock: clock, baseClock: baseClock, creation: true, to: statement)
        try statement.run("replacing an imported session")
    }
}

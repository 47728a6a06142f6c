import CoreMetrics
import Logging
public import Sessions
import Tracing

extension SQLiteSessionStore {
    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        try await tracing.withSpan("sessions.create") { span in
            try checkOpen()
            let draft = try policy.validated(draft)
            let (policy, origin, clock, retention) = (self.policy, self.origin, self.clock, sharing.retention)
            // Everything but the statements happens here, off the writer thread: the token, its
            // hash, the row with its data sealed and its metadata encoded.
            let minted = policy.now
            let token = SessionToken.generate(selector: clock.next(at: minted))
            let row = try StoredSessionRow(Session.new(id: token.selector, token: token, draft: draft, policy: policy, now: minted), codec: codec)
            let (issuedToken, session, evicted) = try await writer.write(span: span) { connection throws(SessionStoreError) in
                let now = policy.now
                var evicted: [TokenHash] = []
                if let user = draft.userID, policy.maxSessionsPerUser != nil {
                    let live = try connection.with(.selectUserSessions) { statement throws(SessionStoreError) in
                        statement.bind(user, at: 1)
                        statement.bind(now.millisecondsSince1970, at: 2)
                        // Eviction looks at times only: sealed data need not be opened.
                        return try SessionRow.readAll(statement, codec: .passThrough, context: "counting a user's sessions")
                    }
                    for victim in policy.sessionsToEvict(from: live) {
                        try connection.deleteSession(id: victim.id)
                        try connection.logChange(.evicted, sessionID: victim.id, tokenHash: victim.tokenHash, userID: user, at: now, origin: origin)
                        if let retention {
                            try connection.recordTombstone(victim.tokenHash, id: victim.id, kind: .evicted, until: SharingSettings.tombstoneUntil(victim, deletedAt: now, retention: retention))
                        }
                        evicted.append(victim.tokenHash)
                    }
                }
                let (token, inserted) = try Self.insert(row, token: token, on: connection, clock: clock)
                try connection.logChange(.created, sessionID: token.selector, tokenHash: token.hash, userID: draft.userID, at: now, origin: origin)
                return (token, inserted.session, evicted)
            }
            span?.attributes["sessions.token_hash"] = SessionTracing.hashPrefix(issuedToken.hash)
            return IssuedSession(token: issuedToken, session: session, evicted: evicted)
        }
    }

    /// Inserts a new session under its token's selector, which is also the clock reading of its
    /// contents; when another process took that id, mints a token with a selector after the
    /// file's highest id and inserts that instead.
    private static func insert(
        _ row: StoredSessionRow,
        token: SessionToken,
        on connection: SQLiteConnection,
        clock: HybridClock
    ) throws(SessionStoreError) -> (SessionToken, StoredSessionRow) {
        do {
            try connection.insert(row, clock: token.selector)
            return (token, row)
        } catch where SQLiteConnection.isTakenID(error) {
            clock.advance(past: try connection.maxSessionID())
            let fresh = SessionToken.generate(selector: clock.next(at: row.session.createdAt))
            let moved = row.with(id: fresh.selector, tokenHash: fresh.hash)
            try connection.insert(moved, clock: fresh.selector)
            return (fresh, moved)
        }
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        try await tracing.withSpan("sessions.save") { span in
            try checkOpen()
            try policy.validate(session)
            let contents = try StoredSessionRow(session, codec: codec)
            let (policy, origin, clock) = (self.policy, self.origin, self.clock)
            return try await writer.write(span: span) { connection throws(SessionStoreError) in
                let now = policy.now
                return try Self.save(contents, expectedVersion: expectedVersion, on: connection, now: now, clock: clock.next(at: now), origin: origin)
            }
        }
    }

    public func save(_ sessions: [Session]) async throws -> [Session?] {
        try await tracing.withSpan("sessions.save") { span in
            try checkOpen()
            for session in sessions { try policy.validate(session) }
            let codec = self.codec
            let rows = try sessions.map { session throws(SessionStoreError) in try StoredSessionRow(session, codec: codec) }
            let (policy, origin, clock) = (self.policy, self.origin, self.clock)
            return try await writer.write(span: span) { connection throws(SessionStoreError) in
                let now = policy.now
                var saved: [Session?] = []
                saved.reserveCapacity(rows.count)
                for row in rows {
                    do throws(SessionStoreError) {
                        saved.append(try Self.save(row, expectedVersion: nil, on: connection, now: now, clock: clock.next(at: now), origin: origin))
                    } catch where error.code == .notFound {
                        saved.append(nil)
                    }
                }
                return saved
            }
        }
    }

    /// Stores the user, data (already sealed) and metadata of `changes` on the session's row.
    private static func save(
        _ changes: StoredSessionRow,
        expectedVersion: Int64?,
        on connection: SQLiteConnection,
        now: SessionInstant,
        clock: Int64,
        origin: Int64
    ) throws(SessionStoreError) -> Session {
        let session = changes.session
        // The stored data is replaced, so it is read as stored, not opened.
        guard let row = try connection.session(id: session.id, hash: session.tokenHash, liveAt: now, codec: .passThrough) else {
            throw .sessionGone(session.tokenHash)
        }
        let saved = try row.saving(session, expectedVersion: expectedVersion, at: now)
        try connection.update(changes.replacingSession(with: saved), clock: clock)
        try connection.logChange(.updated, sessionID: saved.id, tokenHash: saved.tokenHash, userID: saved.userID, at: now, origin: origin)
        return saved
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session? {
        try checkOpen()
        try expiration?.validate()
        let (policy, origin, hash, clock) = (self.policy, self.origin, token.hash, self.clock)
        let client = policy.clipped(client)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            guard let row = try connection.session(for: token, liveAt: now) else { return nil }
            let touched = row.touching(at: now, expiration: expiration, by: client)
            if expiration == nil {
                try connection.updateLastSeen(touched)
            } else {
                try connection.updateLimits(touched, clock: clock.next(at: now))
            }
            try connection.logChange(
                expiration == nil ? .touched : .updated,
                sessionID: row.id,
                tokenHash: hash,
                userID: row.userID,
                at: now,
                origin: origin
            )
            return touched
        }
    }

    /// Persists a use that a read found due, and returns the session as stored afterwards.
    ///
    /// The read waits for the commit (shared with every other write in its group), so the next
    /// request, from any process, sees the extended deadline. If the write fails the read still
    /// succeeds: the session stays valid until its previous deadline, and the failure is logged
    /// and counted in `WriteStats.touchesFailed`.
    func recordUse(of session: Session, at now: SessionInstant, by client: SessionClient?) async -> Session {
        let origin = self.origin
        do {
            let touched = try await writer.write { connection throws(SessionStoreError) -> Session? in
                // The row may have changed since it was read: apply the use to what is stored now.
                guard let row = try connection.session(id: session.id, hash: session.tokenHash, liveAt: now) else { return nil }
                guard row.lastSeenAt < now else { return row }
                let touched = row.used(at: now, by: client)
                try connection.updateLastSeen(touched)
                try connection.logChange(.touched, sessionID: row.id, tokenHash: row.tokenHash, userID: row.userID, at: now, origin: origin)
                return touched
            }
            writer.recordTouch(.persisted)
            return touched ?? session.used(at: now, by: client)
        } catch {
            writer.recordTouch(.failed)
            configuration.logger.warning(
                "could not persist a session's use",
                metadata: ["session": "\(session.tokenHash.shortHex)", "error": "\(error)"]
            )
            return session
        }
    }

    public func delete(_ token: SessionToken) async throws -> Bool {
        try await delete([token]) == 1
    }

    public func delete(_ tokens: [SessionToken]) async throws -> Int {
        try await delete(finding: { connection throws(SessionStoreError) in
            var rows: [Session] = []
            for token in tokens {
                if let row = try connection.session(for: token, liveAt: nil, codec: .passThrough) { rows.append(row) }
            }
            return rows
        })
    }

    /// Deletes the session with this token hash, for operators who have the hash but not the token.
    ///
    /// - Parameters:
    ///   - hash: The SHA-256 of the session's token.
    ///   - id: The session's id, when known (`sessionctl` shows it): the row is then found
    ///     by primary key. Without it, sessions from before schema 3 are found through their
    ///     index and others by a scan of the table.
    /// - Returns: Whether a live session was deleted (an expired one is deleted too, and counts as gone).
    public func deleteStored(_ hash: TokenHash, id: Int64? = nil) async throws -> Bool {
        try await delete(finding: { connection throws(SessionStoreError) in
            try connection.session(hash: hash, id: id, codec: .passThrough).map { [$0] } ?? []
        }) == 1
    }

    /// Deletes the sessions `find` returns, inside the write transaction.
    private func delete(finding find: @escaping @Sendable (SQLiteConnection) throws(SessionStoreError) -> [Session]) async throws -> Int {
        try await tracing.withSpan("sessions.delete") { span in
            try checkOpen()
            let (policy, origin, retention) = (self.policy, self.origin, sharing.retention)
            return try await writer.write(span: span) { connection throws(SessionStoreError) in
                let now = policy.now
                var deleted = 0
                for row in try find(connection) {
                    try connection.deleteSession(id: row.id)
                    try connection.logChange(.deleted, sessionID: row.id, tokenHash: row.tokenHash, userID: row.userID, at: now, origin: origin)
                    if let retention {
                        try connection.recordTombstone(row.tokenHash, id: row.id, kind: .deleted, until: SharingSettings.tombstoneUntil(row, deletedAt: now, retention: retention))
                    }
                    if !row.isExpired(at: now) { deleted += 1 }
                }
                return deleted
            }
        }
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        try await tracing.withSpan("sessions.rotate") { span in
            try checkOpen()
            if let changes { try policy.validate(changes) }
            let codec = self.codec
            let contents = try changes.map { changes throws(SessionStoreError) in try StoredSessionRow(changes, codec: codec) }
            let (policy, origin, hash, clock, retention) = (self.policy, self.origin, token.hash, self.clock, sharing.retention)
            return try await writer.write(span: span) { connection throws(SessionStoreError) -> IssuedSession? in
                let now = policy.now
                // Read as stored: without changes the data stays as it is, and is opened once, for the caller.
                guard let row = try connection.session(for: token, liveAt: now, codec: .passThrough) else { return nil }
                // The selector stays, so the row does not move. A session from before schema 3 gets
                // its id as selector, and is found by it from now on.
                let newToken = row.id == token.selector ? token.withNewSecret() : SessionToken.generate(selector: row.id)
                let rotated = try row.rotating(to: newToken, saving: changes, expectedVersion: expectedVersion, at: now)
                var returned = rotated
                let reading = clock.next(at: now)
                if let contents {
                    try connection.update(contents.replacingSession(with: rotated), clock: reading)
                } else {
                    try connection.updateToken(rotated, clock: reading)
                    returned.data = try codec.open(rotated.data)
                }
                try connection.logChange(.rotatedOut, sessionID: row.id, tokenHash: hash, userID: row.userID, at: now, origin: origin)
                if let retention {
                    try connection.recordTombstone(hash, id: row.id, kind: .rotatedOut, until: SharingSettings.tombstoneUntil(row, deletedAt: now, retention: retention))
                }
                try connection.logChange(.rotated, sessionID: row.id, tokenHash: newToken.hash, userID: rotated.userID, at: now, origin: origin)
                return IssuedSession(token: newToken, session: returned)
            }
        }
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        try await tracing.withSpan("sessions.revoke") { span in
            try checkOpen()
            try policy.validate(userID: userID)
            let (policy, origin, retention) = (self.policy, self.origin, sharing.retention)
            return try await writer.write(span: span) { connection throws(SessionStoreError) in
                let now = policy.now
                // Found through the user's index: a hash alone has no index for new sessions.
                let row = try connection.with(.selectUserSessionByHash) { statement throws(SessionStoreError) in
                    statement.bind(userID, at: 1)
                    statement.bind(hash, at: 2)
                    return try statement.step("finding a user's session") ? try SessionRow.read(statement, codec: .passThrough) : nil
                }
                guard let row else { return false }
                try connection.deleteSession(id: row.id)
                try connection.logChange(.revoked, sessionID: row.id, tokenHash: hash, userID: userID, at: now, origin: origin)
                if let retention {
                    try connection.recordTombstone(hash, id: row.id, kind: .revoked, until: SharingSettings.tombstoneUntil(row, deletedAt: now, retention: retention))
                }
                return !row.isExpired(at: now)
            }
        }
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        try await tracing.withSpan("sessions.delete_user_sessions") { span in
            try checkOpen()
            try policy.validate(userID: userID)
            let (policy, origin, retention, clock) = (self.policy, self.origin, sharing.retention, self.clock)
            return try await writer.write(span: span) { connection throws(SessionStoreError) in
                let now = policy.now
                let removed = try connection.with(.deleteUserSessions) { statement throws(SessionStoreError) in
                    statement.bind(userID, at: 1)
                    var removed: [(id: Int64, hash: TokenHash, expiresAt: Int64, absolute: Int64?)] = []
                    while try statement.step("revoking a user's sessions") {
                        guard let hash = statement.tokenHash(1) else { continue }
                        removed.append((statement.int64(0), hash, statement.int64(2), statement.optionalInt64(3)))
                    }
                    return removed
                }
                for row in removed {
                    try connection.logChange(.revoked, sessionID: row.id, tokenHash: row.hash, userID: userID, at: now, origin: origin)
                }
                if let retention {
                    // The point moves every host's copies of this user's older sessions out too,
                    // including ones this host has not seen yet.
                    try connection.recordRevocation(ofUser: userID, before: clock.next(at: now), until: now + retention)
                    try connection.logChange(.userRevoked, sessionID: nil, tokenHash: .none, userID: userID, at: now, origin: origin)
                    for row in removed {
                        let until = row.absolute.map { SessionInstant(millisecondsSince1970: $0) }
                            ?? SessionInstant(millisecondsSince1970: max(row.expiresAt, now.millisecondsSince1970)) + retention
                        try connection.recordTombstone(row.hash, id: row.id, kind: .revoked, until: max(until, now))
                    }
                }
                return removed.count { $0.expiresAt > now.millisecondsSince1970 }
            }
        }
    }

    /// Deletes up to `limit` expired sessions, through the `expires_at` index, in transactions
    /// that never hold the writer while anyone else waits.
    ///
    /// Each transaction deletes the oldest expired rows in steps, logging them as `expired`. While
    /// nothing else is queued it goes on, up to ``purgeChunkSize`` rows or ``longestPurgeChunk``,
    /// in steps of ``purgeStepSize``; once another write is waiting it stops after the current
    /// step and commits, and while writes keep coming it works in steps of
    /// ``contendedPurgeStepSize``, so a login waits for at most one small step. Purge commits are
    /// not fsynced: a purge undone by a power cut is done again (the rows are still expired), and
    /// the next durable commit flushes it anyway. Each transaction also trims change-log entries
    /// older than ``Configuration/changeLogRetention`` that every replication cursor has passed.
    public func purgeExpired(limit: Int) async throws -> Int {
        try await tracing.withSpan("sessions.purge") { span in
            try SessionPolicy.validate(limit: limit)
            var purged = 0
            var contended = false
            while purged < limit {
                try checkOpen()
                let chunk = try await purgeChunk(limit: min(Self.purgeChunkSize, limit - purged), contended: contended)
                purged += chunk.purged
                writer.metrics.purgedRows.increment(by: chunk.purged)
                if chunk.exhausted { break }
                contended = chunk.steppedAside
                await Task.yield()
            }
            span?.attributes["sessions.rows"] = purged
            return purged
        }
    }

    /// Rows one purge statement deletes while nothing else is being written.
    public static let purgeStepSize = 64

    /// Rows one purge statement deletes while other writes keep coming: each waiting write
    /// waits for this much work, and for flushing what it changed.
    public static let contendedPurgeStepSize = 16

    /// The most rows one purge transaction deletes while no one else is waiting.
    public static let purgeChunkSize = 20_000

    /// How long one purge transaction runs at most while no one else is waiting.
    public static let longestPurgeChunk: Duration = .milliseconds(100)

    private func purgeChunk(limit: Int, contended: Bool) async throws(SessionStoreError) -> (purged: Int, exhausted: Bool, steppedAside: Bool) {
        let (policy, origin, retention, writer) = (self.policy, self.origin, configuration.changeLogRetention, self.writer)
        let stepSize = contended ? Self.contendedPurgeStepSize : Self.purgeStepSize
        return try await writer.writeInBackground { connection throws(SessionStoreError) in
            let now = policy.now
            let clock = ContinuousClock()
            let started = clock.now
            var purged = 0
            var exhausted = false
            var steppedAside = false
            while purged < limit {
                let step = min(stepSize, limit - purged)
                // Log the step's rows as expired, then delete the same rows: two set statements,
                // nothing per row in Swift.
                try connection.with(.logExpired) { statement throws(SessionStoreError) in
                    statement.bind(now.millisecondsSince1970, at: 1)
                    statement.bind(step, at: 2)
                    statement.bind(origin, at: 3)
                    try statement.run("logging expired sessions")
                }
                let logged = connection.changes
                let removed = try connection.with(.purgeExpired) { statement throws(SessionStoreError) in
                    statement.bind(now.millisecondsSince1970, at: 1)
                    statement.bind(step, at: 2)
                    try statement.run("purging expired sessions")
                    return connection.changes
                }
                guard removed == logged else {
                    throw SessionStoreError(.internalError, "a purge step logged \(logged) expired sessions but deleted \(removed)")
                }
                purged += removed
                if removed < step {
                    exhausted = true
                    break
                }
                if writer.hasWaitingOperations {
                    steppedAside = true
                    break
                }
                if clock.now - started >= Self.longestPurgeChunk { break }
            }
            try connection.trimChangeLog(before: now - retention, limit: max(purged, Self.purgeStepSize))
            try connection.forgetExpiredTombstones(at: now, limit: Self.purgeStepSize)
            writer.metrics.changeLogEntries.record(try connection.changeLogLength())
            return (purged, exhausted, steppedAside)
        }
    }
}

import Logging
public import Sessions

extension SQLiteSessionStore {
    /// The most rows one purge transaction deletes, so no transaction holds the write lock for long.
    public static let purgeChunkSize = 1000

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        try checkOpen()
        let draft = try policy.validated(draft)
        let token = SessionToken.generate()
        let (policy, origin) = (self.policy, self.origin)
        let (session, evicted) = try await writer.write { connection throws(SessionStoreError) in
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
                    evicted.append(victim.tokenHash)
                }
            }
            let id = try connection.insert(Session.new(id: 0, token: token, draft: draft, policy: policy, now: now))
            try connection.logChange(.created, sessionID: id, tokenHash: token.hash, userID: draft.userID, at: now, origin: origin)
            return (Session.new(id: id, token: token, draft: draft, policy: policy, now: now), evicted)
        }
        return IssuedSession(token: token, session: session, evicted: evicted)
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        try checkOpen()
        try policy.validate(session)
        let (policy, origin) = (self.policy, self.origin)
        return try await writer.write { connection throws(SessionStoreError) in
            try Self.save(session, expectedVersion: expectedVersion, on: connection, now: policy.now, origin: origin)
        }
    }

    public func save(_ sessions: [Session]) async throws -> [Session?] {
        try checkOpen()
        for session in sessions { try policy.validate(session) }
        let (policy, origin) = (self.policy, self.origin)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            var saved: [Session?] = []
            saved.reserveCapacity(sessions.count)
            for session in sessions {
                do throws(SessionStoreError) {
                    saved.append(try Self.save(session, expectedVersion: nil, on: connection, now: now, origin: origin))
                } catch where error.code == .notFound {
                    saved.append(nil)
                }
            }
            return saved
        }
    }

    private static func save(
        _ session: Session,
        expectedVersion: Int64?,
        on connection: SQLiteConnection,
        now: SessionInstant,
        origin: Int64
    ) throws(SessionStoreError) -> Session {
        guard let row = try connection.liveSession(session.tokenHash, at: now) else { throw .sessionGone(session.tokenHash) }
        let saved = try row.saving(session, expectedVersion: expectedVersion, at: now)
        try connection.update(saved)
        try connection.logChange(.updated, sessionID: saved.id, tokenHash: saved.tokenHash, userID: saved.userID, at: now, origin: origin)
        return saved
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session? {
        try checkOpen()
        try expiration?.validate()
        let (policy, origin, hash) = (self.policy, self.origin, token.hash)
        let client = policy.clipped(client)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            guard let row = try connection.liveSession(hash, at: now) else { return nil }
            let touched = row.touching(at: now, expiration: expiration, by: client)
            if expiration == nil {
                try connection.updateLastSeen(touched)
            } else {
                try connection.update(touched)
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
    /// and counted in ``Sessions/WriteStats/touchesFailed``.
    func recordUse(of session: Session, at now: SessionInstant, by client: SessionClient?) async -> Session {
        let origin = self.origin
        do {
            let touched = try await writer.write { connection throws(SessionStoreError) -> Session? in
                // The row may have changed since it was read: apply the use to what is stored now.
                guard let row = try connection.liveSession(id: session.id, at: now), row.tokenHash == session.tokenHash else {
                    return nil
                }
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
        try await delete(hashes: tokens.map(\.hash))
    }

    /// Deletes the session with this token hash, for operators who have the hash but not the token.
    ///
    /// - Returns: Whether a live session was deleted (an expired one is deleted too, and counts as gone).
    public func deleteStored(_ hash: TokenHash) async throws -> Bool {
        try await delete(hashes: [hash]) == 1
    }

    private func delete(hashes: [TokenHash]) async throws -> Int {
        try checkOpen()
        let (policy, origin) = (self.policy, self.origin)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            var deleted = 0
            for hash in hashes {
                guard let row = try connection.anySession(hash, codec: .passThrough) else { continue }
                try connection.deleteSession(id: row.id)
                try connection.logChange(.deleted, sessionID: row.id, tokenHash: hash, userID: row.userID, at: now, origin: origin)
                if !row.isExpired(at: now) { deleted += 1 }
            }
            return deleted
        }
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        try checkOpen()
        if let changes { try policy.validate(changes) }
        let newToken = SessionToken.generate()
        let (policy, origin, hash) = (self.policy, self.origin, token.hash)
        let rotated = try await writer.write { connection throws(SessionStoreError) -> Session? in
            let now = policy.now
            guard let row = try connection.liveSession(hash, at: now) else { return nil }
            let rotated = try row.rotating(to: newToken, saving: changes, expectedVersion: expectedVersion, at: now)
            try connection.update(rotated)
            try connection.logChange(.rotatedOut, sessionID: row.id, tokenHash: hash, userID: row.userID, at: now, origin: origin)
            try connection.logChange(.rotated, sessionID: row.id, tokenHash: newToken.hash, userID: rotated.userID, at: now, origin: origin)
            return rotated
        }
        return rotated.map { IssuedSession(token: newToken, session: $0) }
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        try checkOpen()
        try policy.validate(userID: userID)
        let (policy, origin) = (self.policy, self.origin)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            guard let row = try connection.anySession(hash, codec: .passThrough), row.userID == userID else { return false }
            try connection.deleteSession(id: row.id)
            try connection.logChange(.revoked, sessionID: row.id, tokenHash: hash, userID: userID, at: now, origin: origin)
            return !row.isExpired(at: now)
        }
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        try checkOpen()
        try policy.validate(userID: userID)
        let (policy, origin) = (self.policy, self.origin)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            let removed = try connection.with(.deleteUserSessions) { statement throws(SessionStoreError) in
                statement.bind(userID, at: 1)
                var removed: [(id: Int64, hash: TokenHash, live: Bool)] = []
                while try statement.step("revoking a user's sessions") {
                    guard let hash = statement.tokenHash(1) else { continue }
                    removed.append((statement.int64(0), hash, statement.int64(2) > now.millisecondsSince1970))
                }
                return removed
            }
            for row in removed {
                try connection.logChange(.revoked, sessionID: row.id, tokenHash: row.hash, userID: userID, at: now, origin: origin)
            }
            return removed.count { $0.live }
        }
    }

    /// Deletes up to `limit` expired sessions, at most ``purgeChunkSize`` per transaction, letting
    /// other work run between chunks. Each chunk also trims up to as many change-log entries that
    /// are older than ``Configuration/changeLogRetention`` and behind every replication cursor.
    public func purgeExpired(limit: Int) async throws -> Int {
        try SessionPolicy.validate(limit: limit)
        var purged = 0
        while purged < limit {
            try checkOpen()
            let chunk = try await purgeChunk(limit: min(Self.purgeChunkSize, limit - purged))
            purged += chunk.purged
            if chunk.purged < chunk.limit { break }
            await Task.yield()
        }
        return purged
    }

    private func purgeChunk(limit: Int) async throws(SessionStoreError) -> (purged: Int, limit: Int) {
        let (policy, origin, retention) = (self.policy, self.origin, configuration.changeLogRetention)
        return try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            let removed = try connection.with(.purgeExpired) { statement throws(SessionStoreError) in
                statement.bind(now.millisecondsSince1970, at: 1)
                statement.bind(limit, at: 2)
                var removed: [(id: Int64, hash: TokenHash, user: String?)] = []
                while try statement.step("purging expired sessions") {
                    guard let hash = statement.tokenHash(1) else { continue }
                    removed.append((statement.int64(0), hash, statement.optionalString(2)))
                }
                return removed
            }
            for row in removed {
                try connection.logChange(.expired, sessionID: row.id, tokenHash: row.hash, userID: row.user, at: now, origin: origin)
            }
            try connection.trimChangeLog(before: now - retention, limit: limit)
            return (removed.count, limit)
        }
    }
}

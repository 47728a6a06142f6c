package import Sessions

/// What sharing sessions with other hosts needs from the SQLite store: sessions with the clock
/// readings that order their versions, and applying other hosts' changes under the rules every
/// host and Redis apply alike (see ``SharedSession/supersedes(_:)`` and ``SharingSettings``).
extension SQLiteSessionStore {
    /// The stored state of sessions by hash, with their clocks, expired ones included; absent
    /// ones are left out. Data is as stored (sealed when the file's is).
    package func sharedSessions(_ keys: [StoredSessionKey]) async throws -> [TokenHash: SharedSession] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            var found: [TokenHash: SharedSession] = [:]
            for key in keys {
                if let shared = try connection.sharedSession(hash: key.tokenHash, id: key.id) { found[key.tokenHash] = shared }
            }
            return found
        }
    }

    /// The live session a token opens, with its clocks; data as stored.
    package func sharedSession(for token: SessionToken) async throws -> SharedSession? {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            guard let shared = try connection.sharedSession(hash: token.hash, id: token.selector), !shared.session.isExpired(at: now) else {
                return nil
            }
            return shared
        }
    }

    /// A page of live sessions in id order, with their clocks, for copying every session elsewhere.
    package func sharedSessions(after cursor: Int64, limit: Int) async throws -> [SharedSession] {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement(
                "SELECT \(SessionSQL.sessionColumns), clock, base_clock FROM sessions WHERE id > ?1 AND expires_at > ?2 ORDER BY id LIMIT ?3"
            )
            defer { statement.reset() }
            statement.bind(cursor, at: 1)
            statement.bind(now.millisecondsSince1970, at: 2)
            statement.bind(limit, at: 3)
            var page: [SharedSession] = []
            while try statement.step("listing sessions to share") {
                page.append(try SessionRow.readShared(statement))
            }
            return page
        }
    }

    /// Tombstones kept now, in hash order after `hash`: for giving Redis back what it lost.
    package func tombstones(after hash: TokenHash?, limit: Int) async throws -> [(hash: TokenHash, sessionID: Int64?, until: SessionInstant)] {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement(
                "SELECT token_hash, session_id, until FROM session_tombstones WHERE token_hash > ?1 AND until > ?2 ORDER BY token_hash LIMIT ?3"
            )
            defer { statement.reset() }
            statement.bind(hash ?? .none, at: 1)
            statement.bind(now.millisecondsSince1970, at: 2)
            statement.bind(limit, at: 3)
            var found: [(hash: TokenHash, sessionID: Int64?, until: SessionInstant)] = []
            while try statement.step("listing tombstones") {
                if let hash = statement.tokenHash(0) {
                    found.append((hash, statement.optionalInt64(1), SessionInstant(millisecondsSince1970: statement.int64(2))))
                }
            }
            return found
        }
    }

    /// Until when each of these tokens stays refused, for those this file has a tombstone of.
    package func tombstoneDeadlines(_ hashes: [TokenHash]) async throws -> [TokenHash: SessionInstant] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("SELECT until FROM session_tombstones WHERE token_hash = ?1")
            var found: [TokenHash: SessionInstant] = [:]
            for hash in hashes {
                defer { statement.reset() }
                statement.bind(hash, at: 1)
                if try statement.step("reading a tombstone") { found[hash] = SessionInstant(millisecondsSince1970: statement.int64(0)) }
            }
            return found
        }
    }

    /// Every revocation point kept now (`before` is a clock reading).
    package func userRevocations() async throws -> [(userID: String, before: Int64, until: SessionInstant)] {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("SELECT user_id, revoked_before, until FROM user_revocations WHERE until > ?1")
            defer { statement.reset() }
            statement.bind(now.millisecondsSince1970, at: 1)
            var found: [(userID: String, before: Int64, until: SessionInstant)] = []
            while try statement.step("listing revocations") {
                found.append((statement.string(0), statement.int64(1), SessionInstant(millisecondsSince1970: statement.int64(2))))
            }
            return found
        }
    }

    /// The revocation points kept now for these users, by user.
    package func revocationPoints(_ users: [String]) async throws -> [String: (before: Int64, until: SessionInstant)] {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("SELECT revoked_before, until FROM user_revocations WHERE user_id = ?1 AND until > ?2")
            var found: [String: (before: Int64, until: SessionInstant)] = [:]
            for user in users {
                defer { statement.reset() }
                statement.bind(user, at: 1)
                statement.bind(now.millisecondsSince1970, at: 2)
                if try statement.step("reading a revocation") {
                    found[user] = (statement.int64(0), SessionInstant(millisecondsSince1970: statement.int64(1)))
                }
            }
            return found
        }
    }

    /// Remembers that the token with this hash must never work here, though this file holds no
    /// session for it (it was made on another host and has not arrived), and logs the deletion
    /// so the replicator tells Redis and the other hosts.
    package func recordDeletion(of hash: TokenHash, sessionID: Int64?, until: SessionInstant) async throws {
        try checkOpen()
        let (policy, origin) = (self.policy, self.origin)
        try await writer.write { connection throws(SessionStoreError) in
            let now = policy.now
            try connection.recordTombstone(hash, id: sessionID, kind: .deleted, until: until)
            try connection.logChange(.deleted, sessionID: sessionID, tokenHash: hash, userID: nil, at: now, origin: origin)
        }
    }

    /// The clock tag this file keeps for host `name`, if any.
    package func hostTag(_ name: String) async throws -> Int64? {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("SELECT tag FROM host_tags WHERE name = ?1")
            defer { statement.reset() }
            statement.bind(name, at: 1)
            return try statement.step("reading a host tag") ? statement.int64(0) : nil
        }
    }

    /// Keeps the clock tag of host `name`, for starts while the registry in Redis is out of reach.
    package func setHostTag(_ tag: Int64, for name: String) async throws {
        try checkOpen()
        try await writer.writeInBackground { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("INSERT INTO host_tags (name, tag) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET tag = excluded.tag")
            defer { statement.reset() }
            statement.bind(name, at: 1)
            statement.bind(tag, at: 2)
            try statement.run("keeping a host tag")
        }
    }

    /// Where this host stands in the shared change stream `name`, or nil before its first entry.
    package func streamPosition(_ name: String) async throws -> StreamPosition? {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("SELECT stream_id, sequence FROM stream_cursors WHERE name = ?1")
            defer { statement.reset() }
            statement.bind(name, at: 1)
            return try statement.step("reading a stream position") ? StreamPosition(id: statement.string(0), sequence: statement.int64(1)) : nil
        }
    }

    /// Every stream position this file holds (one per host name that followed a stream with
    /// it), with when each last moved.
    package func streamPositions() async throws -> [(name: String, position: StreamPosition, updatedAt: SessionInstant)] {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in
            let statement = try connection.cachedStatement("SELECT name, stream_id, sequence, updated_at FROM stream_cursors ORDER BY name")
            defer { statement.reset() }
            var found: [(name: String, position: StreamPosition, updatedAt: SessionInstant)] = []
            while try statement.step("reading stream positions") {
                found.append((
                    statement.string(0),
                    StreamPosition(id: statement.string(1), sequence: statement.int64(2)),
                    SessionInstant(millisecondsSince1970: statement.int64(3))
                ))
            }
            return found
        }
    }

    /// Applies other hosts' changes in one transaction, with the stream position they bring this
    /// host to, under the rules every host applies alike:
    ///
    /// - a token that was deleted here, or whose user logged out everywhere after it was
    ///   created, is refused (``SharedOutcome/refused``): revocation is never undone;
    /// - of two copies of a session, the one that ``SharedSession/supersedes(_:)`` the other stays;
    /// - a removal deletes the session and remembers its token; a revocation point only moves forward;
    /// - a message joins its session's log once, however often it arrives.
    ///
    /// Each change is logged under `origin` (so this host's replicator does not send it back, and
    /// caches and event streams on the file see it), and the clock observes every reading.
    ///
    /// - Parameters:
    ///   - origin: The change-log origin to log these changes under.
    ///   - position: The stream cursor to store in the same transaction, if any.
    ///   - durable: Commit with the store's durability (a write of this host's own that it
    ///     acknowledges); false commits without an fsync, for changes that are read again
    ///     from the stream should a power cut undo them (the position goes back with them).
    /// - Returns: What happened to each change, in order.
    package func applyShared(
        _ changes: [SharedChange],
        origin: Int64,
        position: (name: String, position: StreamPosition)? = nil,
        durable: Bool = true
    ) async throws -> [SharedOutcome] {
        try checkOpen()
        for change in changes {
            if case .put(let shared, _) = change { try policy.validateImported(shared.session) }
        }
        let context = SharedApply(
            origin: origin,
            hostTag: clock.hostTag,
            retention: sharing.retention ?? SharingSettings.defaultRetention,
            keeping: policy.maxMessagesPerSession
        )
        let (policy, clock) = (self.policy, self.clock)
        let body: @Sendable (SQLiteConnection) throws(SessionStoreError) -> [SharedOutcome] = { connection throws(SessionStoreError) in
            let now = policy.now
            var outcomes: [SharedOutcome] = []
            outcomes.reserveCapacity(changes.count)
            for change in changes {
                outcomes.append(try connection.apply(change, context, now: now, clock: clock))
            }
            if let (name, position) = position {
                try connection.storeStreamPosition(position, name: name, at: now)
            }
            return outcomes
        }
        return durable ? try await writer.write(body) : try await writer.writeInBackground(body)
    }
}

/// What every change of one ``SQLiteSessionStore/applyShared(_:origin:position:)`` shares.
struct SharedApply: Sendable {
    let origin: Int64
    let hostTag: Int64
    let retention: Duration
    let keeping: Int
}

extension SessionRow {
    /// Reads a row selected as ``SessionSQL/sessionColumns`` followed by `clock, base_clock`; data as stored.
    static func readShared(_ statement: SQLiteStatement) throws(SessionStoreError) -> SharedSession {
        SharedSession(session: try read(statement, codec: .passThrough), clock: statement.int64(15), baseClock: statement.int64(16))
    }
}

extension SQLiteConnection {
    /// The session with this token hash and its clocks, expired or not; data as stored. Found by
    /// `id` (the selector, kept by every host), else among the sessions found by hash.
    func sharedSession(hash: TokenHash, id: Int64?) throws(SessionStoreError) -> SharedSession? {
        if let id {
            let statement = try cachedStatement("SELECT \(SessionSQL.sessionColumns), clock, base_clock FROM sessions WHERE id = ?1")
            defer { statement.reset() }
            statement.bind(id, at: 1)
            if try statement.step("loading a session"), statement.tokenHash(1) == hash { return try SessionRow.readShared(statement) }
        }
        let statement = try cachedStatement(
            "SELECT \(SessionSQL.sessionColumns), clock, base_clock FROM sessions WHERE token_hash = ?1 AND id < \(SessionSQL.legacyIDLimit)"
        )
        defer { statement.reset() }
        statement.bind(hash, at: 1)
        return try statement.step("loading a session") ? try SessionRow.readShared(statement) : nil
    }

    func storeStreamPosition(_ position: StreamPosition, name: String, at now: SessionInstant) throws(SessionStoreError) {
        let statement = try cachedStatement("""
            INSERT INTO stream_cursors (name, stream_id, sequence, updated_at) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (name) DO UPDATE SET stream_id = excluded.stream_id, sequence = excluded.sequence, updated_at = excluded.updated_at
            """)
        defer { statement.reset() }
        statement.bind(name, at: 1)
        statement.bind(position.id, at: 2)
        statement.bind(position.sequence, at: 3)
        statement.bind(now.millisecondsSince1970, at: 4)
        try statement.run("storing a stream position")
    }

    fileprivate func apply(_ change: SharedChange, _ context: SharedApply, now: SessionInstant, clock: HybridClock) throws(SessionStoreError) -> SharedOutcome {
        switch change {
        case .put(let shared, let previous):
            clock.observe(shared.clock, now: now)
            return try applyPut(shared, replacing: previous, context, now: now)
        case .remove(let hash, let id, let kind, let until):
            return try applyRemove(hash, id: id, kind: kind, until: until, context, now: now)
        case .revokeUser(let user, let before, let until):
            return try applyRevocation(ofUser: user, before: before, until: until, context, now: now)
        case .message(let hash, let id, let message):
            clock.observe(message.id, now: now)
            guard let local = try sharedSession(hash: hash, id: id) else { return .unchanged }
            guard try insertMessage(message, session: local.session.id, keeping: context.keeping) else { return .unchanged }
            try logChange(.appended, sessionID: local.session.id, tokenHash: hash, userID: local.session.userID, at: now, origin: context.origin, messageID: message.id)
            return .applied
        }
    }

    private func applyPut(
        _ incoming: SharedSession,
        replacing previous: TokenHash?,
        _ context: SharedApply,
        now: SessionInstant
    ) throws(SessionStoreError) -> SharedOutcome {
        let session = incoming.session
        if try isRevoked(session, at: now) { return .refused }
        // A rotation of a token deleted here: the logout happened, whatever the order of arrival.
        if let previous, let kind = try tombstone(of: previous, at: now), kind != .rotatedOut { return .refused }
        let local = try sharedSession(hash: session.tokenHash, id: session.id)
        if let previous, previous != session.tokenHash {
            let old = try sharedSession(hash: previous, id: session.id)
            try recordTombstone(previous, id: old?.session.id ?? session.id, kind: .rotatedOut, until: SharingSettings.tombstoneUntil(old?.session ?? session, deletedAt: now, retention: context.retention))
            if let old {
                if local == nil {
                    // The row takes the new token and keeps its id, and with it its message log.
                    try replaceImported(StoredSessionRow(asStored: session.reidentified(id: old.session.id, tokenHash: session.tokenHash)), clock: incoming.clock, baseClock: incoming.baseClock)
                    try logChange(.rotatedOut, sessionID: old.session.id, tokenHash: previous, userID: old.session.userID, at: now, origin: context.origin)
                    try logChange(.rotated, sessionID: old.session.id, tokenHash: session.tokenHash, userID: session.userID, at: now, origin: context.origin)
                    return incoming.overwrites(localChangeOf: context.hostTag, in: old) ? .overwroteLocalChange : .applied
                }
                try deleteSession(id: old.session.id)
                try logChange(.rotatedOut, sessionID: old.session.id, tokenHash: previous, userID: old.session.userID, at: now, origin: context.origin)
            }
        }
        guard let local else {
            let id = try insertImported(StoredSessionRow(asStored: session), clock: incoming.clock, baseClock: incoming.baseClock)
            try logChange(.created, sessionID: id, tokenHash: session.tokenHash, userID: session.userID, at: now, origin: context.origin)
            return .applied
        }
        guard incoming.supersedes(local) else {
            return local.clock == incoming.clock && local.session.lastSeenAt == session.lastSeenAt ? .unchanged : .superseded
        }
        if local.clock == incoming.clock {
            // The same contents, used later elsewhere: only the use moves.
            try updateLastSeen(local.session.with(
                lastSeenAt: session.lastSeenAt, lastSeenIP: .some(session.lastSeenIP), lastSeenUserAgent: .some(session.lastSeenUserAgent)
            ))
            try logChange(.touched, sessionID: local.session.id, tokenHash: session.tokenHash, userID: session.userID, at: now, origin: context.origin)
            return .applied
        }
        try replaceImported(StoredSessionRow(asStored: session.reidentified(id: local.session.id, tokenHash: session.tokenHash)), clock: incoming.clock, baseClock: incoming.baseClock)
        try logChange(.updated, sessionID: local.session.id, tokenHash: session.tokenHash, userID: session.userID, at: now, origin: context.origin)
        return incoming.overwrites(localChangeOf: context.hostTag, in: local) ? .overwroteLocalChange : .applied
    }

    private func applyRemove(
        _ hash: TokenHash,
        id: Int64?,
        kind: SessionChange.Kind,
        until: SessionInstant,
        _ context: SharedApply,
        now: SessionInstant
    ) throws(SessionStoreError) -> SharedOutcome {
        let local = try sharedSession(hash: hash, id: id)
        try recordTombstone(hash, id: local?.session.id ?? id, kind: kind, until: max(until, now))
        guard let local else { return .unchanged }
        try deleteSession(id: local.session.id)
        try logChange(kind, sessionID: local.session.id, tokenHash: hash, userID: local.session.userID, at: now, origin: context.origin)
        return .applied
    }

    private func applyRevocation(
        ofUser userID: String,
        before: Int64,
        until: SessionInstant,
        _ context: SharedApply,
        now: SessionInstant
    ) throws(SessionStoreError) -> SharedOutcome {
        let known = try revocationPoint(ofUser: userID, at: now)
        try recordRevocation(ofUser: userID, before: before, until: until)
        let statement = try cachedStatement("""
            DELETE FROM sessions WHERE user_id = ?1 AND \(SessionSQL.createdBeforeSQL) \
            RETURNING id, token_hash, expires_at, absolute_expires_at
            """)
        statement.bind(userID, at: 1)
        statement.bind(before, at: 2)
        var removed: [(id: Int64, hash: TokenHash, until: SessionInstant)] = []
        do {
            defer { statement.reset() }
            while try statement.step("revoking a user's sessions") {
                guard let hash = statement.tokenHash(1) else { continue }
                let until = statement.optionalInt64(3).map { SessionInstant(millisecondsSince1970: $0) }
                    ?? SessionInstant(millisecondsSince1970: max(statement.int64(2), now.millisecondsSince1970)) + context.retention
                removed.append((statement.int64(0), hash, until))
            }
        }
        for row in removed {
            try logChange(.revoked, sessionID: row.id, tokenHash: row.hash, userID: userID, at: now, origin: context.origin)
            try recordTombstone(row.hash, id: row.id, kind: .revoked, until: max(row.until, now))
        }
        guard !removed.isEmpty || (known.map { $0 < before } ?? true) else { return .unchanged }
        try logChange(.userRevoked, sessionID: nil, tokenHash: .none, userID: userID, at: now, origin: context.origin)
        return .applied
    }
}

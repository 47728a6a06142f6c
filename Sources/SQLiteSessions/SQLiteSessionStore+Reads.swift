public import Sessions
import Tracing

extension SQLiteSessionStore {
    public func load(_ token: SessionToken, client: SessionClient?) async throws -> Session? {
        // Without a tracer, no closure and no extra async frame on the read path.
        guard let tracer = tracing.active else { return try await load(token, client: client, span: nil) }
        return try await tracing.withSpan(tracer, "sessions.load") { span in try await load(token, client: client, span: span) }
    }

    @inline(__always)
    private func load(_ token: SessionToken, client: SessionClient?, span: (any Span)?) async throws -> Session? {
        try checkOpen()
        let now = policy.now
        guard let session = try await read({ connection throws(SessionStoreError) in try connection.session(for: token, liveAt: now) }) else {
            span?.attributes["sessions.found"] = false
            return nil
        }
        span?.attributes["sessions.found"] = true
        guard session.deadlines.idleTimeout != nil else { return session }
        guard policy.needsTouch(session, at: now) else {
            writer.recordTouch(.skipped)
            return session
        }
        return await recordUse(of: session, at: now, by: policy.clipped(client))
    }

    public func timeToLive(_ token: SessionToken) async throws -> Duration? {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            try connection.session(for: token, liveAt: now)?.timeToLive(at: now)
        }
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        try checkOpen()
        try policy.validate(userID: userID)
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            try connection.with(.selectUserSessions) { statement throws(SessionStoreError) in
                statement.bind(userID, at: 1)
                statement.bind(now.millisecondsSince1970, at: 2)
                return try SessionRow.readAll(statement, codec: connection.codec, context: "listing a user's sessions")
            }
        }
    }

    public func list(_ query: SessionQuery) async throws -> SessionPage {
        try await list(query, codec: nil)
    }

    /// A page of sessions; `codec` overrides how data is read (nil: the store's own).
    func list(_ query: SessionQuery, codec: StoredDataCodec?) async throws -> SessionPage {
        try checkOpen()
        try SessionPolicy.validate(limit: query.limit)
        let after = try SessionCursor.decodeID(query.after)
        let now = policy.now
        let sessions = try await read { connection throws(SessionStoreError) in
            try connection.with(query.userID == nil ? .listAll : .listByUser) { statement throws(SessionStoreError) in
                statement.bind(after, at: 1)
                statement.bind(query.includeExpired ? 1 : 0, at: 2)
                statement.bind(now.millisecondsSince1970, at: 3)
                statement.bind(query.limit + 1, at: 4)
                if let user = query.userID { statement.bind(user, at: 5) }
                return try SessionRow.readAll(statement, codec: codec ?? connection.codec, context: "listing sessions")
            }
        }
        let page = Array(sessions.prefix(query.limit))
        let next = sessions.count > query.limit ? page.last.map { SessionCursor(id: $0.id) } : nil
        return SessionPage(sessions: page, next: next)
    }

    public func count(includeExpired: Bool) async throws -> Int {
        try checkOpen()
        let now = policy.now
        return try await read { connection throws(SessionStoreError) in
            try connection.with(includeExpired ? .countAll : .countLive) { statement throws(SessionStoreError) in
                if !includeExpired { statement.bind(now.millisecondsSince1970, at: 1) }
                _ = try statement.step("counting sessions")
                return Int(statement.int64(0))
            }
        }
    }

    public func stats() async throws -> SessionStoreStats {
        try checkOpen()
        let now = policy.now
        let (total, active, ageTotal, users) = try await read { connection throws(SessionStoreError) in
            let totals = try connection.with(.totals) { statement throws(SessionStoreError) in
                statement.bind(now.millisecondsSince1970, at: 1)
                _ = try statement.step("computing session statistics")
                return (Int(statement.int64(0)), Int(statement.int64(1)), statement.int64(2))
            }
            let users = try connection.with(.activeUsers) { statement throws(SessionStoreError) in
                statement.bind(now.millisecondsSince1970, at: 1)
                _ = try statement.step("counting users")
                return Int(statement.int64(0))
            }
            return (totals.0, totals.1, totals.2, users)
        }
        return SessionStoreStats(
            total: total,
            active: active,
            expired: total - active,
            users: users,
            averageAge: active == 0 ? nil : .milliseconds(ageTotal / Int64(active)),
            writes: writer.stats
        )
    }

    /// Change-log entries after `sequence`, oldest first; for caches, replicators and tools.
    ///
    /// - Parameters:
    ///   - sequence: The last entry already seen; 0 for the oldest kept.
    ///   - limit: The most entries to return.
    public func changes(after sequence: Int64, limit: Int = 1000) async throws -> [SessionChange] {
        try checkOpen()
        try SessionPolicy.validate(limit: limit)
        return try await read { connection throws(SessionStoreError) in
            try connection.changes(after: sequence, limit: limit)
        }
    }

    /// The sequence number of the newest change-log entry ever written.
    public func lastChangeSequence() async throws -> Int64 {
        try checkOpen()
        return try await read { connection throws(SessionStoreError) in try connection.lastChangeSequence() }
    }
}

import Synchronization

/// A session store in process memory: the development default, and the reference for what every
/// other store must do.
///
/// Nothing survives a restart. All operations take one lock briefly and never suspend.
///
/// It holds at most ``maxSessions`` sessions (100,000 unless told otherwise, some tens of
/// megabytes with small data), so a flood of logins cannot grow it without end: a new session
/// beyond the limit pushes out the least recently used one (created, loaded, saved, touched,
/// rotated or given a message longest ago), reported in ``IssuedSession/evicted`` and as an
/// ``SessionChange/Kind/evicted`` change, or as ``SessionChange/Kind/expired`` when that session
/// had expired anyway.
public final class InMemorySessionStore: SessionChangeFeed, SessionStoreAdministration, SessionMessageLog {
    private struct State {
        var rows: [Int64: Session] = [:]
        /// Session ids, most recently used first; values are unused.
        var recency: LRUCache<Int64, Void>
        var idByHash: [TokenHash: Int64] = [:]
        var idsByUser: [String: Set<Int64>] = [:]
        var nextID: Int64 = 1
        var writes = WriteStats()
        var closed = false
        var changes: InMemoryChangeLog
        var messages: [Int64: [SessionMessage]] = [:]
        var nextMessageID: Int64 = 1

        func live(_ hash: TokenHash, at now: SessionInstant) -> Session? {
            guard let id = idByHash[hash], let row = rows[id], !row.isExpired(at: now) else { return nil }
            return row
        }

        mutating func insert(_ session: Session) {
            rows[session.id] = session
            recency.insert((), forKey: session.id)
            idByHash[session.tokenHash] = session.id
            if let user = session.userID { idsByUser[user, default: []].insert(session.id) }
        }

        @discardableResult
        mutating func remove(id: Int64) -> Session? {
            guard let row = rows.removeValue(forKey: id) else { return nil }
            recency.removeValue(forKey: id)
            messages.removeValue(forKey: id)
            idByHash.removeValue(forKey: row.tokenHash)
            if let user = row.userID {
                idsByUser[user]?.remove(id)
                if idsByUser[user]?.isEmpty == true { idsByUser.removeValue(forKey: user) }
            }
            return row
        }

        mutating func replace(_ old: Session, with new: Session) {
            let log = messages[old.id]
            remove(id: old.id)
            insert(new)
            messages[new.id] = log
            writes.operations += 1
            writes.transactions += 1
        }

        /// Marks a session as the most recently used.
        mutating func markUsed(_ id: Int64) {
            _ = recency.value(forKey: id)
        }

        /// Makes room for one more session: removes the least recently used while the store is
        /// full, logging each as evicted (or expired, when it was).
        mutating func makeRoom(limit: Int, at now: SessionInstant, origin: Int64) -> [TokenHash] {
            var removed: [TokenHash] = []
            while rows.count >= limit, let (id, _) = recency.removeLeastRecentlyUsed() {
                guard let victim = remove(id: id) else { continue }
                changes.append(victim.isExpired(at: now) ? .expired : .evicted, victim, at: now, origin: origin)
                removed.append(victim.tokenHash)
            }
            return removed
        }

        func checkOpen() throws(SessionStoreError) {
            if closed { throw SessionStoreError(.closed, "the in-memory session store was closed") }
        }
    }

    private let state: Mutex<State>

    /// The rules this store applies.
    public let policy: SessionPolicy

    /// This instance's mark on the changes it logs.
    public let changeOrigin = Int64.random(in: 1...Int64.max)

    /// The most sessions held at once; one more pushes out the least recently used.
    public let maxSessions: Int

    /// The default ``maxSessions``.
    public static let defaultMaxSessions = 100_000

    /// Creates an empty store.
    ///
    /// - Parameters:
    ///   - policy: Expiry, limits and clock.
    ///   - maxSessions: The most sessions held at once, from 1 to 2^30.
    ///   - changeLogCapacity: How many recent changes are kept for change readers.
    public init(policy: SessionPolicy = SessionPolicy(), maxSessions: Int = InMemorySessionStore.defaultMaxSessions, changeLogCapacity: Int = 100_000) {
        precondition((1...(1 << 30)).contains(maxSessions), "InMemorySessionStore(maxSessions:) must be between 1 and 2^30, got \(maxSessions)")
        self.policy = policy
        self.maxSessions = maxSessions
        self.state = Mutex(State(recency: LRUCache(maxCount: maxSessions + 1), changes: InMemoryChangeLog(capacity: changeLogCapacity)))
    }

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        let draft = try policy.validated(draft)
        let token = SessionToken.generate()
        let now = policy.now
        let (session, evicted) = try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            var evicted: [TokenHash] = []
            if let user = draft.userID, policy.maxSessionsPerUser != nil {
                let live = (state.idsByUser[user] ?? []).compactMap { state.rows[$0] }.filter { !$0.isExpired(at: now) }
                for victim in policy.sessionsToEvict(from: live) {
                    state.remove(id: victim.id)
                    state.changes.append(.evicted, victim, at: now, origin: changeOrigin)
                    evicted.append(victim.tokenHash)
                }
            }
            evicted += state.makeRoom(limit: maxSessions, at: now, origin: changeOrigin)
            let session = Session.new(id: state.nextID, token: token, draft: draft, policy: policy, now: now)
            state.nextID += 1
            state.insert(session)
            state.writes.operations += 1
            state.writes.transactions += 1
            state.changes.append(.created, session, at: now, origin: changeOrigin)
            return (session, evicted)
        }
        return IssuedSession(token: token, session: session, evicted: evicted)
    }

    public func load(_ token: SessionToken, client: SessionClient?) async throws -> Session? {
        let now = policy.now
        let client = policy.clipped(client)
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            guard let row = state.live(token.hash, at: now) else { return nil }
            state.markUsed(row.id)
            guard row.deadlines.idleTimeout != nil else { return row }
            guard policy.needsTouch(row, at: now) else {
                state.writes.touchesSkipped += 1
                return row
            }
            let touched = row.used(at: now, by: client)
            state.rows[row.id] = touched
            state.changes.append(.touched, touched, at: now, origin: changeOrigin)
            state.writes.touchesPersisted += 1
            state.writes.operations += 1
            state.writes.transactions += 1
            return touched
        }
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        try policy.validate(session)
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            return try Self.save(session, expectedVersion: expectedVersion, now: now, origin: changeOrigin, in: &state)
        }
    }

    public func save(_ sessions: [Session]) async throws -> [Session?] {
        for session in sessions { try policy.validate(session) }
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            return sessions.map { try? Self.save($0, expectedVersion: nil, now: now, origin: changeOrigin, in: &state) }
        }
    }

    private static func save(
        _ session: Session,
        expectedVersion: Int64?,
        now: SessionInstant,
        origin: Int64,
        in state: inout State
    ) throws(SessionStoreError) -> Session {
        guard let row = state.live(session.tokenHash, at: now) else { throw .sessionGone(session.tokenHash) }
        let saved = try row.saving(session, expectedVersion: expectedVersion, at: now)
        state.replace(row, with: saved)
        state.changes.append(.updated, saved, at: now, origin: origin)
        return saved
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session? {
        try expiration?.validate()
        let now = policy.now
        let client = policy.clipped(client)
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            guard let row = state.live(token.hash, at: now) else { return nil }
            let touched = row.touching(at: now, expiration: expiration, by: client)
            state.replace(row, with: touched)
            state.changes.append(expiration == nil ? .touched : .updated, touched, at: now, origin: changeOrigin)
            state.writes.touchesPersisted += 1
            return touched
        }
    }

    public func timeToLive(_ token: SessionToken) async throws -> Duration? {
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            return state.live(token.hash, at: now)?.timeToLive(at: now)
        }
    }

    public func exists(_ token: SessionToken) async throws -> Bool {
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            return state.live(token.hash, at: now) != nil
        }
    }

    public func delete(_ token: SessionToken) async throws -> Bool {
        try await delete([token]) == 1
    }

    public func delete(_ tokens: [SessionToken]) async throws -> Int {
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            var deleted = 0
            for token in tokens {
                guard let id = state.idByHash[token.hash], let row = state.remove(id: id) else { continue }
                state.changes.append(.deleted, row, at: now, origin: changeOrigin)
                if !row.isExpired(at: now) { deleted += 1 }
            }
            state.writes.operations += 1
            state.writes.transactions += 1
            return deleted
        }
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        if let changes { try policy.validate(changes) }
        let newToken = SessionToken.generate()
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            guard let row = state.live(token.hash, at: now) else { return nil }
            let rotated = try row.rotating(to: newToken, saving: changes, expectedVersion: expectedVersion, at: now)
            state.replace(row, with: rotated)
            state.changes.append(.rotatedOut, row, at: now, origin: changeOrigin)
            state.changes.append(.rotated, rotated, at: now, origin: changeOrigin)
            return IssuedSession(token: newToken, session: rotated)
        }
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        try policy.validate(userID: userID)
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            return (state.idsByUser[userID] ?? [])
                .compactMap { state.rows[$0] }
                .filter { !$0.isExpired(at: now) }
                .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        try policy.validate(userID: userID)
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            var deleted = 0
            for id in state.idsByUser[userID] ?? [] {
                guard let row = state.remove(id: id) else { continue }
                state.changes.append(.revoked, row, at: now, origin: changeOrigin)
                if !row.isExpired(at: now) { deleted += 1 }
            }
            state.writes.operations += 1
            state.writes.transactions += 1
            return deleted
        }
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        try policy.validate(userID: userID)
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            guard let id = state.idByHash[hash], state.rows[id]?.userID == userID, let row = state.remove(id: id) else {
                return false
            }
            state.changes.append(.revoked, row, at: now, origin: changeOrigin)
            state.writes.operations += 1
            state.writes.transactions += 1
            return !row.isExpired(at: now)
        }
    }

    public func list(_ query: SessionQuery) async throws -> SessionPage {
        try SessionPolicy.validate(limit: query.limit)
        let after = try SessionCursor.decodeID(query.after)
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            let candidates: [Session]
            if let user = query.userID {
                candidates = (state.idsByUser[user] ?? []).compactMap { state.rows[$0] }
            } else {
                candidates = Array(state.rows.values)
            }
            let page = candidates
                .filter { $0.id > after && (query.includeExpired || !$0.isExpired(at: now)) }
                .sorted { $0.id < $1.id }
                .prefix(query.limit + 1)
            let sessions = Array(page.prefix(query.limit))
            let next = page.count > query.limit ? sessions.last.map { SessionCursor(id: $0.id) } : nil
            return SessionPage(sessions: sessions, next: next)
        }
    }

    public func count(includeExpired: Bool) async throws -> Int {
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            if includeExpired { return state.rows.count }
            return state.rows.values.count { !$0.isExpired(at: now) }
        }
    }

    public func stats() async throws -> SessionStoreStats {
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            var active = 0
            var ageTotal: Int64 = 0
            var users = Set<String>()
            for row in state.rows.values where !row.isExpired(at: now) {
                active += 1
                ageTotal += (now - row.createdAt).wholeMilliseconds
                if let user = row.userID { users.insert(user) }
            }
            return SessionStoreStats(
                total: state.rows.count,
                active: active,
                expired: state.rows.count - active,
                users: users.count,
                averageAge: active == 0 ? nil : .milliseconds(ageTotal / Int64(active)),
                writes: state.writes
            )
        }
    }

    public func purgeExpired(limit: Int) async throws -> Int {
        try SessionPolicy.validate(limit: limit)
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            let expired = state.rows.values
                .filter { $0.isExpired(at: now) }
                .sorted { ($0.expiresAt, $0.id) < ($1.expiresAt, $1.id) }
                .prefix(limit)
            for row in expired {
                state.remove(id: row.id)
                state.changes.append(.expired, row, at: now, origin: changeOrigin)
            }
            state.writes.operations += 1
            state.writes.transactions += 1
            return expired.count
        }
    }

    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        try policy.validate(message)
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            guard let row = state.live(token.hash, at: now) else {
                throw SessionStoreError(.notFound, "session \(token.hash.shortHex) does not exist or has expired; the message was not stored")
            }
            state.markUsed(row.id)
            if policy.needsTouch(row, at: now) {
                let touched = row.used(at: now, by: nil)
                state.rows[row.id] = touched
                state.changes.append(.touched, touched, at: now, origin: changeOrigin)
                state.writes.touchesPersisted += 1
            }
            let stored = SessionMessage(id: state.nextMessageID, role: message.role, content: message.content, createdAt: now, metadata: message.metadata)
            state.nextMessageID += 1
            state.messages[row.id, default: []].append(stored)
            state.changes.append(.appended, row, at: now, origin: changeOrigin, messageID: stored.id)
            let overflow = state.messages[row.id]!.count - policy.maxMessagesPerSession
            if overflow > 0 { state.messages[row.id]!.removeFirst(overflow) }
            state.writes.operations += 1
            state.writes.transactions += 1
            return stored
        }
    }

    public func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]? {
        try SessionPolicy.validate(limit: count, name: "count")
        let now = policy.now
        return try state.withLock { state throws(SessionStoreError) in
            try state.checkOpen()
            guard let row = state.live(token.hash, at: now) else { return nil }
            return Array((state.messages[row.id] ?? []).suffix(count))
        }
    }

    public func healthCheck() async -> SessionStoreHealth {
        let closed = state.withLock { $0.closed }
        return closed
            ? SessionStoreHealth(status: .unhealthy, message: "in-memory store is closed")
            : SessionStoreHealth(status: .healthy, message: "in-memory store", details: ["backend": "memory"])
    }

    public func close() async throws {
        state.withLock { $0.closed = true }
    }

    // MARK: Change log

    public func makeChangeReader() throws -> any SessionChangeReader {
        InMemoryChangeReader(store: self, position: state.withLock { $0.changes.lastSequence })
    }

    /// Changes after `sequence`, oldest first, at most `limit`.
    func changes(after sequence: Int64, limit: Int) -> SessionChangeBatch {
        state.withLock { $0.changes.changes(after: sequence, limit: limit) }
    }
}

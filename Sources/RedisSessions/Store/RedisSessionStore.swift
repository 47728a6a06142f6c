import Foundation
public import Sessions
public import Tracing
import Synchronization

/// Sessions in Redis, behind the same protocol as every other store.
///
/// ```swift
/// let store = try RedisSessionStore(url: "redis://127.0.0.1:6379/0")
/// ```
///
/// The key layout is ``RedisSessionKeys``: one JSON record per session, expiring in Redis at the
/// session's own deadline (`PXAT`), and one set of token hashes per user. Changes that touch
/// several keys are Lua compare-and-set scripts (`RedisSessionScripts`), so they are atomic and
/// never lose a concurrent change. Listing walks keys with `SCAN`, never `KEYS`.
///
/// Expiry is decided by the store's clock, exactly as in the other stores; Redis's own expiry
/// only reclaims memory, at the same instant when the clocks agree.
///
/// Costs: a load is one `GET` (plus a write when a sliding session's use is due to be
/// persisted); a write is one script when this store read or wrote the record last (it keeps the
/// exact text of recent records to compare against), else a `GET` and a script. `count`,
/// `stats`, `purgeExpired` and unfiltered `list` scan the keyspace of sessions.
public final class RedisSessionStore: SessionStoreAdministration, SessionMessageLog {
    /// The connection pool.
    public let client: RedisClient
    /// The rules this store applies.
    public let policy: SessionPolicy
    /// The key layout.
    public let keys: RedisSessionKeys

    /// How many times a write re-reads and retries when another writer changed the record first.
    static let maxAttempts = 16

    private let writes = Mutex(WriteStats())
    private let records = RedisRecordCache()

    let tracing: SessionTracing

    /// Creates a store on `client`.
    ///
    /// - Parameters:
    ///   - client: The connection pool to Redis.
    ///   - policy: The rules this store applies (expiry, limits, encryption, clock).
    ///   - keys: The names of the keys (a prefix shared with replication, if any).
    ///   - tracer: Where spans go; nil for the process-wide `InstrumentationSystem.tracer`.
    public init(client: RedisClient, policy: SessionPolicy = SessionPolicy(), keys: RedisSessionKeys = RedisSessionKeys(), tracer: (any Tracer)? = nil) {
        self.client = client
        self.policy = policy
        self.keys = keys
        self.tracing = SessionTracing(tracer, store: "redis")
    }

    /// Connects to the server at a `redis://` URL.
    public convenience init(url: String, policy: SessionPolicy = SessionPolicy(), keyPrefix: String = "") throws {
        self.init(client: try RedisClient(url: url), policy: policy, keys: RedisSessionKeys(prefix: keyPrefix))
    }

    // MARK: Reading records

    /// The record stored for `hash` and its exact text, or nil.
    ///
    /// - Parameter opening: Open sealed data; false leaves it sealed, for callers that only
    ///   need the record's times and user (deleting a session whose data cannot be opened).
    func read(_ hash: TokenHash, opening: Bool = true) async throws(SessionStoreError) -> (text: String, session: Session)? {
        let reply = try await client.send(RedisCommand("GET", .string(keys.session(hash))))
        guard let text = reply.string else {
            records.forget(hash)
            return nil
        }
        guard opening else { return (text, try SessionRecord.decode(text).session()) }
        let session = try decodeRecord(text)
        records.remember(text, session)
        return (text, session)
    }

    /// The live session for `hash` as this store last read or wrote it, with its text; nil when
    /// it knows none, or the one it knows has expired.
    private func lastKnown(_ hash: TokenHash, at now: SessionInstant) -> (text: String, session: Session)? {
        guard let record = records.record(for: hash), !record.session.isExpired(at: now) else { return nil }
        return (record.text, record.session)
    }

    /// The stored text of `session`: its record, with the data sealed when encryption is on.
    private func recordText(_ session: Session) throws(SessionStoreError) -> String {
        SessionRecord(try policy.sealed(session)).encoded()
    }

    /// The session a stored record holds, its data opened.
    private func decodeRecord(_ text: String) throws(SessionStoreError) -> Session {
        try policy.opened(try SessionRecord.decode(text).session())
    }

    /// The live session for `hash`, with its record text.
    private func readLive(_ hash: TokenHash, at now: SessionInstant) async throws(SessionStoreError) -> (text: String, session: Session)? {
        guard let found = try await read(hash), !found.session.isExpired(at: now) else { return nil }
        return found
    }

    /// Sessions for many keys at once (`MGET`), skipping keys that vanished meanwhile.
    ///
    /// - Parameter opening: Open sealed data, failing on what cannot be read, as a listing in
    ///   any store does. False for counting: data stays sealed and unreadable records are skipped.
    private func readMany(_ keyNames: [String], opening: Bool = true) async throws(SessionStoreError) -> [Session] {
        guard !keyNames.isEmpty else { return [] }
        let reply = try await client.send(RedisCommand("MGET", keyNames.map { .string($0) }))
        var sessions: [Session] = []
        for value in reply.elements ?? [] {
            guard let text = value.string else { continue }
            if opening {
                sessions.append(try decodeRecord(text))
            } else if let session = try? SessionRecord.decode(text).session() {
                sessions.append(session)
            }
        }
        return sessions
    }

    // MARK: Writing records

    private func pxat(_ session: Session) -> RedisCommand.Argument {
        .integer(session.expiresAt.millisecondsSince1970)
    }

    private func userKey(_ session: Session) -> String {
        session.userID.map(keys.userSessions) ?? keys.userSessions("")
    }

    /// Replaces `old` (whose exact text is `expected`) with `new`; false when the record changed.
    private func replace(_ expected: String, old: Session, with new: Session) async throws(SessionStoreError) -> Bool {
        let text = try recordText(new)
        let reply = try await client.run(
            RedisSessionScripts.replace,
            keys: [keys.session(new.tokenHash), userKey(old), userKey(new), keys.messages(new.tokenHash)],
            arguments: [
                .string(expected), .string(text), pxat(new), .string(new.tokenHash.hex),
                .string(old.userID == nil ? "0" : "1"), .string(new.userID == nil ? "0" : "1"),
            ]
        )
        guard reply.integer == 1 else {
            records.forget(new.tokenHash)
            return false
        }
        countWrite()
        records.remember(text, new)
        return true
    }

    /// Counts one write that reached Redis; each is its own transaction (one script).
    private func countWrite() {
        writes.withLock {
            $0.operations += 1
            $0.transactions += 1
            $0.largestBatch = 1
        }
    }

    /// Deletes `session` (whose exact text is `expected`); false when the record changed.
    private func remove(_ expected: String, _ session: Session) async throws(SessionStoreError) -> Bool {
        let reply = try await client.run(
            RedisSessionScripts.remove,
            keys: [keys.session(session.tokenHash), userKey(session), keys.messages(session.tokenHash)],
            arguments: [.string(expected), .string(session.tokenHash.hex), .string(session.userID == nil ? "0" : "1")]
        )
        records.forget(session.tokenHash)
        if reply.integer == 1 { countWrite() }
        return reply.integer == 1
    }

    /// Reads the live session, lets `change` compute its new state, and compare-and-sets it,
    /// retrying when another writer got there first.
    ///
    /// The first attempt starts from the record as this store last knew it, without reading it;
    /// when that guess is stale (the script finds another text, or `change` refuses what it
    /// holds), the record is read as usual.
    ///
    /// - Returns: The stored session, or nil when it is missing or expired.
    private func update(
        _ hash: TokenHash,
        _ change: (Session, SessionInstant) throws(SessionStoreError) -> Session
    ) async throws(SessionStoreError) -> Session? {
        let now = policy.now
        if let (text, known) = lastKnown(hash, at: now), let updated = try? change(known, now) {
            if try await replace(text, old: known, with: updated) { return updated }
        }
        for _ in 0..<Self.maxAttempts {
            let now = policy.now
            guard let (text, current) = try await readLive(hash, at: now) else { return nil }
            let updated = try change(current, now)
            if try await replace(text, old: current, with: updated) { return updated }
        }
        throw contention(hash)
    }

    private func contention(_ hash: TokenHash) -> SessionStoreError {
        SessionStoreError(.busy, "session \(hash.shortHex) kept changing under \(Self.maxAttempts) attempts to update it in Redis")
    }

    // MARK: SessionStore

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        try await tracing.withSpan("sessions.create") { span in
            let draft = try policy.validated(draft)
            let token = SessionToken.generate()
            let now = policy.now
            let template = Session.new(id: 0, token: token, draft: draft, policy: policy, now: now)
            let reply = try await client.run(
                RedisSessionScripts.create,
                keys: [keys.session(token.hash), userKey(template), keys.sessionIDs],
                arguments: [
                    .string(try recordText(template)), pxat(template), .string(token.hash.hex),
                    .string(template.userID == nil ? "0" : "1"), .string(keys.sessionPrefix), .string(keys.messagesPrefix),
                    .integer(Int64(policy.maxSessionsPerUser ?? 0)), .string(policy.evictionOrder == .leastRecentlySeen ? "seen" : "created"),
                    .integer(now.millisecondsSince1970),
                ]
            )
            guard let parts = reply.elements, let id = parts.first?.integer else {
                throw SessionStoreError(.protocolError, "Redis answered a create with \(reply) instead of an id")
            }
            countWrite()
            let evicted = parts.dropFirst().compactMap { $0.string.flatMap { TokenHash(hex: $0) } }
            return IssuedSession(token: token, session: Session.new(id: id, token: token, draft: draft, policy: policy, now: now), evicted: evicted)
        }
    }

    public func load(_ token: SessionToken, client requester: SessionClient?) async throws -> Session? {
        try await tracing.withSpan("sessions.load") { span in
            let now = policy.now
            guard let (text, session) = try await readLive(token.hash, at: now) else { return nil }
            guard policy.needsTouch(session, at: now) else {
                if session.deadlines.idleTimeoutMilliseconds != nil { writes.withLock { $0.touchesSkipped += 1 } }
                return session
            }
            let used = session.used(at: now, by: policy.clipped(requester))
            // A lost race only means someone else wrote the session just now; the read stands.
            guard try await replace(text, old: session, with: used) else { return session }
            writes.withLock { $0.touchesPersisted += 1 }
            return used
        }
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        try await tracing.withSpan("sessions.save") { span in
            try policy.validate(session)
            guard let saved = try await update(session.tokenHash, { (current, now) throws(SessionStoreError) in
                try current.saving(session, expectedVersion: expectedVersion, at: now)
            }) else { throw SessionStoreError.sessionGone(session.tokenHash) }
            return saved
        }
    }

    public func save(_ sessions: [Session]) async throws -> [Session?] {
        for session in sessions { try policy.validate(session) }
        var saved: [Session?] = []
        for session in sessions {
            saved.append(try await update(session.tokenHash, { (current, now) throws(SessionStoreError) in
                try current.saving(session, expectedVersion: nil, at: now)
            }))
        }
        return saved
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client requester: SessionClient?) async throws -> Session? {
        try expiration?.validate()
        let requester = policy.clipped(requester)
        return try await update(token.hash) { current, now in current.touching(at: now, expiration: expiration, by: requester) }
    }

    public func timeToLive(_ token: SessionToken) async throws -> Duration? {
        let now = policy.now
        return try await readLive(token.hash, at: now)?.session.timeToLive(at: now)
    }

    public func delete(_ token: SessionToken) async throws -> Bool {
        try await tracing.withSpan("sessions.delete") { span in
            try await delete(token.hash) { _ in true }
        }
    }

    /// Deletes the session stored for `hash` if `condition` holds for it, retrying when another
    /// writer changed it first.
    ///
    /// - Returns: Whether a live session was deleted.
    private func delete(_ hash: TokenHash, if condition: (Session) -> Bool) async throws(SessionStoreError) -> Bool {
        for _ in 0..<Self.maxAttempts {
            guard let (text, session) = try await read(hash, opening: false), condition(session) else { return false }
            if try await remove(text, session) { return !session.isExpired(at: policy.now) }
        }
        throw contention(hash)
    }

    public func delete(_ tokens: [SessionToken]) async throws -> Int {
        var deleted = 0
        for token in tokens where try await delete(token) { deleted += 1 }
        return deleted
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        try await tracing.withSpan("sessions.rotate") { span in
            if let changes { try policy.validate(changes) }
            let newToken = SessionToken.generate()
            for attempt in 0..<Self.maxAttempts {
                let now = policy.now
                // The first attempt starts from the record as last known, as `update` does.
                let known = attempt == 0 ? lastKnown(token.hash, at: now) : nil
                let found: (text: String, session: Session)?
                if let known { found = known } else { found = try await readLive(token.hash, at: now) }
                guard let (text, current) = found else { return nil }
                let rotated: Session
                do {
                    rotated = try current.rotating(to: newToken, saving: changes, expectedVersion: expectedVersion, at: now)
                } catch where known != nil {
                    records.forget(token.hash)
                    continue
                }
                let textRotated = try recordText(rotated)
                let reply = try await client.run(
                    RedisSessionScripts.rename,
                    keys: [
                        keys.session(token.hash), keys.session(newToken.hash), userKey(current), userKey(rotated),
                        keys.messages(token.hash), keys.messages(newToken.hash),
                    ],
                    arguments: [
                        .string(text), .string(textRotated), pxat(rotated),
                        .string(token.hash.hex), .string(newToken.hash.hex),
                        .string(current.userID == nil ? "0" : "1"), .string(rotated.userID == nil ? "0" : "1"),
                    ]
                )
                records.forget(token.hash)
                if reply.integer == 1 {
                    countWrite()
                    records.remember(textRotated, rotated)
                    return IssuedSession(token: newToken, session: rotated)
                }
            }
            throw contention(token.hash)
        }
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        try policy.validate(userID: userID)
        let now = policy.now
        let setKey = keys.userSessions(userID)
        let members = (try await client.send(RedisCommand("SMEMBERS", .string(setKey))).elements ?? []).compactMap(\.string)
        let hashes = members.compactMap { TokenHash(hex: $0) }
        let found = try await readMany(hashes.map(keys.session)).filter { $0.userID == userID }
        let live = found.filter { !$0.isExpired(at: now) }
        // Members whose session is gone or now someone else's are pruned as they are found.
        // Expired sessions stay listed until purged, so revoking the user still removes them.
        let present = Set(found.map(\.tokenHash.hex))
        let dead = members.filter { !present.contains($0) }
        if !dead.isEmpty {
            _ = try await client.send(RedisCommand("SREM", [.string(setKey)] + dead.map { .string($0) }))
        }
        return live.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        try await tracing.withSpan("sessions.delete_user_sessions") { span in
            try policy.validate(userID: userID)
            let reply = try await client.run(
                RedisSessionScripts.revokeUser,
                keys: [keys.userSessions(userID)],
                arguments: [.string(keys.sessionPrefix), .string(userID), .string(keys.messagesPrefix)]
            )
            let now = policy.now
            return (reply.elements ?? []).count { value in
                guard let text = value.string, let session = try? SessionRecord.decode(text).session() else { return false }
                return !session.isExpired(at: now)
            }
        }
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        try policy.validate(userID: userID)
        return try await delete(hash) { $0.userID == userID }
    }

    public func list(_ query: SessionQuery) async throws -> SessionPage {
        try SessionPolicy.validate(limit: query.limit)
        let now = policy.now
        if let userID = query.userID {
            // A user's sessions come from their set, so they page by id like the other stores.
            let after = try SessionCursor.decodeID(query.after)
            let members = (try await client.send(RedisCommand("SMEMBERS", .string(keys.userSessions(userID)))).elements ?? [])
                .compactMap { $0.string.flatMap { TokenHash(hex: $0) } }
            let sessions = try await readMany(members.map(keys.session))
                .filter { $0.userID == userID && $0.id > after && (query.includeExpired || !$0.isExpired(at: now)) }
                .sorted { $0.id < $1.id }
            let page = Array(sessions.prefix(query.limit))
            return SessionPage(sessions: page, next: sessions.count > query.limit ? page.last.map { SessionCursor(id: $0.id) } : nil)
        }
        var position = try ScanPosition(query.after)
        var sessions: [Session] = []
        while sessions.count < query.limit {
            let step = try await scan(from: position.cursor)
            let batch = try await readMany(step.keys)
                .filter { query.includeExpired || !$0.isExpired(at: now) }
            let remaining = batch.dropFirst(position.skip)
            let wanted = query.limit - sessions.count
            if remaining.count > wanted {
                sessions += remaining.prefix(wanted)
                position.skip += wanted
                return SessionPage(sessions: sessions, next: position.cursorValue)
            }
            sessions += remaining
            guard step.next != "0" else { return SessionPage(sessions: sessions, next: nil) }
            position = ScanPosition(cursor: step.next, skip: 0)
        }
        return SessionPage(sessions: sessions, next: position.cursorValue)
    }

    public func count(includeExpired: Bool) async throws -> Int {
        let now = policy.now
        var total = 0
        try await forEachSession { session in
            if includeExpired || !session.isExpired(at: now) { total += 1 }
        }
        return total
    }

    public func stats() async throws -> SessionStoreStats {
        let now = policy.now
        var total = 0
        var active = 0
        var ageTotal: Int64 = 0
        var users = Set<String>()
        try await forEachSession { session in
            total += 1
            guard !session.isExpired(at: now) else { return }
            active += 1
            ageTotal += (now - session.createdAt).wholeMilliseconds
            if let user = session.userID { users.insert(user) }
        }
        return SessionStoreStats(
            total: total,
            active: active,
            expired: total - active,
            users: users.count,
            averageAge: active == 0 ? nil : .milliseconds(ageTotal / Int64(active)),
            writes: writes.withLock { $0 }
        )
    }

    public func purgeExpired(limit: Int) async throws -> Int {
        try SessionPolicy.validate(limit: limit)
        let now = policy.now
        var purged = 0
        var cursor = "0"
        repeat {
            let step = try await scan(from: cursor)
            cursor = step.next
            if step.keys.isEmpty { continue }
            let reply = try await client.send(RedisCommand("MGET", step.keys.map { .string($0) }))
            for value in reply.elements ?? [] where purged < limit {
                guard let text = value.string, let session = try? SessionRecord.decode(text).session(), session.isExpired(at: now)
                else { continue }
                if try await remove(text, session) { purged += 1 }
            }
        } while cursor != "0" && purged < limit
        return purged
    }

    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        try policy.validate(message)
        let now = policy.now
        guard let (text, session) = try await readLive(token.hash, at: now) else {
            throw SessionStoreError(.notFound, "session \(token.hash.shortHex) does not exist or has expired; the message was not stored")
        }
        var deadline = session.expiresAt
        if policy.needsTouch(session, at: now) {
            // Appending is a use. A lost race means another writer just stored the session; the append stands.
            let used = session.used(at: now, by: nil)
            if try await replace(text, old: session, with: used) { deadline = used.expiresAt }
        }
        var stored = SessionMessage(id: 0, role: message.role, content: message.content, createdAt: now, metadata: message.metadata)
        let reply = try await client.run(
            RedisSessionScripts.appendMessage,
            keys: [keys.session(token.hash), keys.messages(token.hash), keys.messageIDs],
            arguments: [
                .string(try RedisStoredMessage(stored, encryption: policy.encryption).encoded()),
                .integer(Int64(policy.maxMessagesPerSession)), .integer(deadline.millisecondsSince1970),
            ]
        )
        guard let id = reply.integer else {
            throw SessionStoreError(.notFound, "session \(token.hash.shortHex) was deleted while a message was appended")
        }
        countWrite()
        stored.id = id
        return stored
    }

    public func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]? {
        try SessionPolicy.validate(limit: count, name: "count")
        let now = policy.now
        guard try await readLive(token.hash, at: now) != nil else { return nil }
        let reply = try await client.send(RedisCommand("LRANGE", .string(keys.messages(token.hash)), .integer(-Int64(count)), -1))
        return try (reply.elements ?? []).map { value throws(SessionStoreError) in
            guard let text = value.string else { throw SessionStoreError(.protocolError, "Redis returned a message that is not text") }
            return try RedisStoredMessage.decode(text).message(encryption: policy.encryption)
        }
    }

    public func healthCheck() async -> SessionStoreHealth {
        let endpoint = client.configuration.description
        do {
            let reply = try await client.send(RedisCommand("PING"))
            return SessionStoreHealth(
                status: .healthy,
                message: "Redis session store at \(endpoint)",
                details: ["backend": "redis", "endpoint": endpoint, "ping": reply.string ?? "\(reply)"]
            )
        } catch {
            return SessionStoreHealth(
                status: .unhealthy,
                message: "Redis at \(endpoint) cannot serve: \(error)",
                details: ["backend": "redis", "endpoint": endpoint, "error": "\(error)"]
            )
        }
    }

    public func close() async throws {
        client.close()
    }

    // MARK: Scanning

    /// One `SCAN` step over session keys.
    private func scan(from cursor: String) async throws(SessionStoreError) -> (keys: [String], next: String) {
        let reply = try await client.send(RedisCommand("SCAN", .string(cursor), "MATCH", .string(keys.sessionPattern), "COUNT", 500))
        guard let parts = reply.elements, parts.count == 2, let next = parts[0].string, let found = parts[1].elements else {
            throw SessionStoreError(.protocolError, "Redis answered SCAN with \(reply)")
        }
        return (found.compactMap(\.string), next)
    }

    /// Calls `body` with every stored session, live or expired.
    private func forEachSession(_ body: (Session) -> Void) async throws(SessionStoreError) {
        var cursor = "0"
        repeat {
            let step = try await scan(from: cursor)
            cursor = step.next
            for session in try await readMany(step.keys, opening: false) { body(session) }
        } while cursor != "0"
    }
}

/// Where an unfiltered listing stands: a SCAN cursor, and how many sessions of the batch that
/// cursor returns were already handed out. Written as `<cursor>-<skip>` in a `SessionCursor`.
private struct ScanPosition {
    var cursor: String
    var skip: Int

    init(cursor: String, skip: Int) {
        self.cursor = cursor
        self.skip = skip
    }

    init(_ sessionCursor: SessionCursor?) throws(SessionStoreError) {
        guard let sessionCursor else {
            self.init(cursor: "0", skip: 0)
            return
        }
        let parts = sessionCursor.rawValue.split(separator: "-")
        guard parts.count == 2, UInt64(parts[0]) != nil, let skip = Int(parts[1]), skip >= 0 else {
            throw SessionStoreError(.invalidArgument, "cursor \"\(sessionCursor.rawValue.prefix(40))\" was not produced by this store")
        }
        self.init(cursor: String(parts[0]), skip: skip)
    }

    var cursorValue: SessionCursor { SessionCursor(rawValue: "\(cursor)-\(skip)") }
}

/// A message as the Redis store keeps it in a session's log: JSON, with the content sealed
/// (base64 in `sealed_content`) when encryption at rest is configured.
struct RedisStoredMessage: Codable {
    var id: Int64
    var role: SessionMessage.Role
    var content: String?
    var sealedContent: Data?
    var createdAt: Int64
    var metadata: [String: String]

    init(_ message: SessionMessage, encryption: SessionEncryption?) throws(SessionStoreError) {
        id = message.id
        role = message.role
        createdAt = message.createdAt.millisecondsSince1970
        metadata = message.metadata
        if let encryption {
            sealedContent = try encryption.seal(Data(message.content.utf8))
        } else {
            content = message.content
        }
    }

    func message(encryption: SessionEncryption?) throws(SessionStoreError) -> SessionMessage {
        let text: String
        if let sealedContent {
            guard let opened = String(validating: try SessionEncryption.open(sealedContent, using: encryption), as: UTF8.self) else {
                throw SessionStoreError(.corruptDatabase, "message \(id) in Redis holds content that is not UTF-8 text")
            }
            text = opened
        } else if let content {
            text = content
        } else {
            throw SessionStoreError(.corruptDatabase, "message \(id) in Redis has no content")
        }
        return SessionMessage(id: id, role: role, content: text, createdAt: SessionInstant(millisecondsSince1970: createdAt), metadata: metadata)
    }

    func encoded() throws(SessionStoreError) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw SessionStoreError(.internalError, "encoding a message for Redis failed: \(error)")
        }
    }

    static func decode(_ text: String) throws(SessionStoreError) -> RedisStoredMessage {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(RedisStoredMessage.self, from: Data(text.utf8))
        } catch {
            throw SessionStoreError(.corruptDatabase, "a message in Redis is not valid JSON of a message: \(error)")
        }
    }
}

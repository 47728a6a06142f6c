#if Postgres
import Foundation
import Logging
public import PostgresNIO
public import Sessions
import Synchronization

/// Sessions in PostgreSQL, behind the same protocol as every other store.
///
/// ```swift
/// let store = try PostgresSessionStore(url: "postgres://app:secret@db.internal/app")
/// let cached = try CachedSessionStore(wrapping: store)   // coherent across hosts
/// ```
///
/// The schema (`schema/postgres/`) means what the SQLite file means: SHA-256 token hashes only,
/// expiry columns with an index for cleanup, a per-user index, a `version` for compare-and-set
/// saves, a message log, and a change log (`session_changes`) that triggers write in the same
/// transaction as every change, whoever makes it. Each write is one statement, one round trip;
/// a write compares the row's `revision` (bumped by a trigger on every update) so no concurrent
/// change is lost. Sliding expiry goes through the policy's touch coalescing: a load writes only
/// when the stored `last_seen_at` is older than the touch interval.
///
/// Several hosts, one database: every host's `CachedSessionStore` over this store
/// drops a session within milliseconds of a change elsewhere. The store listens on the
/// `sessions_changes` channel (each store announces its own changes there once they commit, in
/// batches; the triggers announce changes made outside the library) and hands each change to its caches;
/// since `NOTIFY` is at-most-once, it also reads the change log every
/// ``Configuration/pollInterval``, and a cache whose position was trimmed away starts empty.
///
/// The store runs its connection pool and its listener itself, from creation until ``close()``.
public final class PostgresSessionStore: SessionStoreAdministration, SessionMessageLog, SessionChangeNotifying {
    /// The rules this store applies.
    public let policy: SessionPolicy
    /// The connection pool.
    public let client: PostgresClient
    /// Where the database is and how the store uses it, as given at creation.
    public let configuration: Configuration
    /// This store instance's mark on the changes it writes (`session_changes.origin`).
    public let changeOrigin: Int64

    /// How many times a write re-reads and retries when another writer changed the row first.
    static let maxAttempts = 16

    let logger: Logger
    let listeners = SessionChangeListeners()
    /// Tells the other hosts' caches what this store changed, once it is committed.
    let notifier: PostgresChangeNotifier

    private let writes = Mutex(WriteStats())
    private let schema: SchemaGate
    private let background = Mutex<Task<Void, Never>?>(nil)
    private let closed = Atomic<Bool>(false)

    /// Connects to the database at a `postgres://` URL (see ``Configuration/init(url:)``).
    public convenience init(url: String, policy: SessionPolicy = SessionPolicy()) throws(SessionStoreError) {
        try self.init(configuration: Configuration(url: url), policy: policy)
    }

    /// Starts the pool and the change listener; the schema is brought up to date before the
    /// first operation (several hosts starting at once migrate once).
    public init(configuration: Configuration, policy: SessionPolicy = SessionPolicy()) throws(SessionStoreError) {
        try configuration.validate()
        var clientConfiguration = configuration.client
        if let schema = configuration.schema {
            clientConfiguration.options.additionalStartupParameters.append(("search_path", schema))
        }
        // Never 0: the triggers write NULL for changes made outside the library.
        let origin = Int64.random(in: 1...Int64.max)
        clientConfiguration.options.additionalStartupParameters.append(("swift_sessions.origin", String(origin)))
        self.configuration = configuration
        self.policy = policy
        self.changeOrigin = origin
        self.logger = configuration.logger
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: configuration.logger)
        self.client = client
        self.notifier = PostgresChangeNotifier(client: client, origin: origin, logger: configuration.logger)
        self.schema = SchemaGate(
            client: client, schema: configuration.schema, migrates: configuration.migratesSchema, logger: configuration.logger
        )
        let follower = PostgresChangeFollower(
            client: client,
            schema: schema,
            origin: origin,
            listeners: listeners,
            pollInterval: configuration.pollInterval,
            logger: configuration.logger
        )
        background.withLock {
            // Cancelled by close(): the follower closes its listening connection, so the
            // pool's run() is not left waiting for that lease.
            $0 = Task {
                await withDiscardingTaskGroup { group in
                    group.addTask { await client.run() }
                    group.addTask { await follower.run() }
                }
            }
        }
    }

    public func addChangeListener(_ listener: @escaping @Sendable (SessionChangeHint) -> Void) {
        listeners.add(listener)
    }

    // MARK: Running statements

    /// Runs `query` once the schema is ready and decodes its rows with `decode`.
    func rows<Row>(
        _ query: PostgresQuery,
        _ doing: String,
        decode: (PostgresRow) throws -> Row
    ) async throws(SessionStoreError) -> [Row] {
        try await schemaReady()
        return try await PostgresErrors.mapping(doing) {
            var rows: [Row] = []
            for try await row in try await client.query(query, logger: logger) {
                rows.append(try decode(row))
            }
            return rows
        }
    }

    /// Opens one connection outside any pool and closes it: an unreachable server, refused
    /// credentials or a missing database fail at once, in the server's or the network's own
    /// words, where the pool would retry for a minute first. For tools and startup checks;
    /// configurations not read from a URL are not checked.
    public static func checkConnection(_ configuration: Configuration) async throws(SessionStoreError) {
        guard let probe = configuration.probe else { return }
        let endpoint = "\(configuration.client.host ?? "?"):\(configuration.client.port ?? 5432)"
        try await PostgresErrors.mapping("connecting to PostgreSQL at \(endpoint)") {
            let connection = try await PostgresConnection.connect(configuration: try probe(), id: 0, logger: configuration.logger)
            try await connection.close()
        }
    }

    /// Connects and brings the schema up to date (or, with ``Configuration/migratesSchema`` off,
    /// checks it). Every operation does this itself first; call it at startup to learn of an
    /// unreachable server or a wrong schema before the first request does.
    public func prepare() async throws {
        try await schemaReady()
    }

    /// Waits until the schema is up to date; every statement does first.
    func schemaReady() async throws(SessionStoreError) {
        guard !closed.load(ordering: .relaxed) else { throw SessionStoreError(.closed, "the PostgreSQL session store is closed") }
        try await schema.ready()
    }

    /// Runs `query` and returns how many rows it returned (a write's `RETURNING`).
    func execute(_ query: PostgresQuery, _ doing: String) async throws(SessionStoreError) -> Int {
        try await rows(query, doing) { _ in () }.count
    }

    /// Decodes a row of ``PostgresSessionRow/columns``, opening sealed data with the policy's
    /// keys (or, with ``Configuration/keepsSealedData`` and no keys, leaving it sealed).
    func sessionRow(_ row: PostgresRow) throws(SessionStoreError) -> PostgresSessionRow {
        let encryption = policy.encryption
        return try PostgresSessionRow(row, encryption: encryption, opening: encryption != nil || !configuration.keepsSealedData)
    }

    /// Reads the stored row of `hash`, with its revision; nil when there is none.
    ///
    /// The hot path of every cache miss: a statement prepared once per connection, so each read
    /// is a Bind and an Execute, without the Parse and Describe a one-off query sends.
    func read(_ hash: TokenHash) async throws(SessionStoreError) -> PostgresSessionRow? {
        try await schemaReady()
        return try await PostgresErrors.mapping("reading session \(hash.shortHex)") {
            var found: PostgresSessionRow?
            for try await row in try await client.execute(ReadSessionStatement(hash: hash.bytea), logger: logger) {
                found = try sessionRow(row)
            }
            return found
        }
    }

    /// The live session of `hash`, or nil when it is missing or expired.
    func readLive(_ hash: TokenHash, at now: SessionInstant) async throws(SessionStoreError) -> PostgresSessionRow? {
        guard let row = try await read(hash), !row.session.isExpired(at: now) else { return nil }
        return row
    }

    /// Replaces the row `old` (unchanged since it was read) with `new`, which may carry another
    /// token hash (a rotation); false when another writer changed the row first.
    func replace(_ old: PostgresSessionRow, with new: Session) async throws(SessionStoreError) -> Bool {
        let stored = try PostgresStoredSession(new, encryption: policy.encryption)
        let deadlines = new.deadlines
        let updated = try await execute(
            """
            UPDATE sessions SET token_hash = \(new.tokenHash.bytea), user_id = \(new.userID), data = \(stored.data),
                metadata = \(stored.metadata), updated_at = \(new.updatedAt.millisecondsSince1970),
                last_seen_at = \(new.lastSeenAt.millisecondsSince1970), idle_timeout_ms = \(deadlines.idleTimeoutMilliseconds),
                absolute_expires_at = \(deadlines.absoluteExpiresAt?.millisecondsSince1970),
                expires_at = \(new.expiresAt.millisecondsSince1970), version = \(new.version),
                last_seen_ip = \(new.lastSeenIP), last_seen_user_agent = \(new.lastSeenUserAgent)
            WHERE token_hash = \(old.session.tokenHash.bytea) AND revision = \(old.revision)
            RETURNING revision
            """,
            "writing session \(old.session.tokenHash.shortHex)"
        )
        guard updated == 1 else { return false }
        countWrite()
        let (before, after) = (old.session.tokenHash, new.tokenHash)
        notifier.announce(before == after ? [(.updated, after)] : [(.rotatedOut, before), (.rotated, after)])
        return true
    }

    /// Records a use of `old`'s session (`used` differs only in when and by whom it was last
    /// seen): four columns, none of them indexed but `expires_at`, so often a HOT update.
    func recordUse(_ old: PostgresSessionRow, _ used: Session) async throws(SessionStoreError) -> Bool {
        let updated = try await execute(
            """
            UPDATE sessions SET last_seen_at = \(used.lastSeenAt.millisecondsSince1970), expires_at = \(used.expiresAt.millisecondsSince1970),
                last_seen_ip = \(used.lastSeenIP), last_seen_user_agent = \(used.lastSeenUserAgent)
            WHERE token_hash = \(old.session.tokenHash.bytea) AND revision = \(old.revision)
            RETURNING revision
            """,
            "recording a use of session \(old.session.tokenHash.shortHex)"
        )
        guard updated == 1 else { return false }
        notifier.announce(.touched, old.session.tokenHash)
        return true
    }

    /// Reads the live session, lets `change` compute its new state, and compare-and-sets it,
    /// retrying when another writer got there first.
    ///
    /// - Returns: The stored session, or nil when it is missing or expired.
    private func update(
        _ hash: TokenHash,
        _ change: (Session, SessionInstant) throws(SessionStoreError) -> Session
    ) async throws(SessionStoreError) -> Session? {
        for _ in 0..<Self.maxAttempts {
            let now = policy.now
            guard let row = try await readLive(hash, at: now) else { return nil }
            let updated = try change(row.session, now)
            if try await replace(row, with: updated) { return updated }
        }
        throw contention(hash)
    }

    func contention(_ hash: TokenHash) -> SessionStoreError {
        SessionStoreError(.busy, "session \(hash.shortHex) kept changing under \(Self.maxAttempts) attempts to update it in PostgreSQL")
    }

    func countWrite() {
        writes.withLock {
            $0.operations += 1
            $0.transactions += 1
            $0.largestBatch = 1
        }
    }

    var writeStats: WriteStats { writes.withLock { $0 } }

    // MARK: SessionStore

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        let draft = try policy.validated(draft)
        let token = SessionToken.generate()
        let now = policy.now
        let template = Session.new(id: 0, token: token, draft: draft, policy: policy, now: now)
        let stored = try PostgresStoredSession(template, encryption: policy.encryption)
        let deadlines = template.deadlines
        let insert: PostgresQuery = """
            INSERT INTO sessions (token_hash, user_id, data, metadata, created_at, updated_at, last_seen_at, idle_timeout_ms,
                absolute_expires_at, expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent)
            VALUES (\(token.hash.bytea), \(template.userID), \(stored.data), \(stored.metadata), \(now.millisecondsSince1970),
                \(now.millisecondsSince1970), \(now.millisecondsSince1970), \(deadlines.idleTimeoutMilliseconds),
                \(deadlines.absoluteExpiresAt?.millisecondsSince1970), \(template.expiresAt.millisecondsSince1970), \(template.version),
                \(template.ip), \(template.userAgent), \(template.lastSeenIP), \(template.lastSeenUserAgent))
            RETURNING id
            """
        guard let userID = template.userID, policy.maxSessionsPerUser != nil else {
            let id = try await rows(insert, "creating a session") { try $0.decode(Int64.self) }.first ?? 0
            countWrite()
            return IssuedSession(token: token, session: template.reidentified(id: id))
        }
        // A per-user limit: the user's creates take turns (an advisory lock on the user), so two
        // at once cannot both find room for one more.
        try await schemaReady()
        // A new session is in no cache: only the sessions evicted for it are announced.
        let (id, evicted) = try await PostgresErrors.mapping("creating a session") {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(userID), 0))", logger: logger)
                var live: [Session] = []
                for try await row in try await connection.query(
                    "SELECT \(unescaped: PostgresSessionRow.columns) FROM sessions WHERE user_id = \(userID) AND expires_at > \(now.millisecondsSince1970)",
                    logger: logger
                ) {
                    live.append(try PostgresSessionRow(row, encryption: nil, opening: false).session)
                }
                let evict = policy.sessionsToEvict(from: live).map(\.tokenHash)
                if !evict.isEmpty {
                    try await connection.query("DELETE FROM sessions WHERE token_hash = ANY(\(evict.map(\.bytea)))", logger: logger)
                }
                var id: Int64 = 0
                for try await value in try await connection.query(insert, logger: logger).decode(Int64.self) { id = value }
                return (id, evict)
            }
        }
        countWrite()
        notifier.announce(evicted.map { (.evicted, $0) })
        return IssuedSession(token: token, session: template.reidentified(id: id), evicted: evicted)
    }

    public func load(_ token: SessionToken, client requester: SessionClient?) async throws -> Session? {
        let now = policy.now
        guard let row = try await readLive(token.hash, at: now) else { return nil }
        let session = row.session
        guard policy.needsTouch(session, at: now) else {
            if session.deadlines.idleTimeoutMilliseconds != nil { writes.withLock { $0.touchesSkipped += 1 } }
            return session
        }
        let used = session.used(at: now, by: policy.clipped(requester))
        // A lost race only means someone else wrote the session just now; the read stands.
        guard try await recordUse(row, used) else { return session }
        writes.withLock { $0.touchesPersisted += 1 }
        return used
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        try policy.validate(session)
        guard let saved = try await update(session.tokenHash, { (current, now) throws(SessionStoreError) in
            try current.saving(session, expectedVersion: expectedVersion, at: now)
        }) else { throw SessionStoreError.sessionGone(session.tokenHash) }
        return saved
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
        try await delete("token_hash = \(token.hash.bytea)", "deleting session \(token.hash.shortHex)").live > 0
    }

    public func delete(_ tokens: [SessionToken]) async throws -> Int {
        guard !tokens.isEmpty else { return 0 }
        return try await delete("token_hash = ANY(\(tokens.map(\.hash.bytea)))", "deleting \(tokens.count) sessions").live
    }

    /// Deletes the sessions `condition` selects and announces them to the other hosts.
    ///
    /// - Returns: How many rows were deleted, and how many of them were still live.
    func delete(_ condition: PostgresQuery, _ doing: String) async throws(SessionStoreError) -> (rows: Int, live: Int) {
        let now = policy.now.millisecondsSince1970
        var query: PostgresQuery = "DELETE FROM sessions WHERE "
        query.sql += condition.sql
        query.binds = condition.binds
        query.sql += " RETURNING token_hash, expires_at"
        let deleted = try await rows(query, doing) { row -> (TokenHash?, Int64) in
            let (hash, expiresAt) = try row.decode((Data, Int64).self)
            return (TokenHash(bytes: Array(hash)), expiresAt)
        }
        notifier.announce(deleted.compactMap { $0.0.map { (.deleted, $0) } })
        return (deleted.count, deleted.count { $0.1 > now })
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        if let changes { try policy.validate(changes) }
        let newToken = SessionToken.generate()
        for _ in 0..<Self.maxAttempts {
            let now = policy.now
            guard let row = try await readLive(token.hash, at: now) else { return nil }
            let rotated = try row.session.rotating(to: newToken, saving: changes, expectedVersion: expectedVersion, at: now)
            if try await replace(row, with: rotated) { return IssuedSession(token: newToken, session: rotated) }
        }
        throw contention(token.hash)
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        try policy.validate(userID: userID)
        let now = policy.now.millisecondsSince1970
        return try await rows(
            """
            SELECT \(unescaped: PostgresSessionRow.columns) FROM sessions
            WHERE user_id = \(userID) AND expires_at > \(now) ORDER BY created_at, id
            """,
            "listing the sessions of a user",
            decode: { try sessionRow($0).session }
        )
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        try policy.validate(userID: userID)
        return try await delete("user_id = \(userID)", "revoking the sessions of a user").live
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        try policy.validate(userID: userID)
        return try await delete("token_hash = \(hash.bytea) AND user_id = \(userID)", "revoking session \(hash.shortHex)").live > 0
    }

    /// Stops the listener and closes every connection; operations after it fail with
    /// `SessionStoreError.Code.closed`.
    public func close() async throws {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        // What this store changed last still reaches the other hosts at once, unless the
        // server does not answer within a second: the other hosts' polls bring it then.
        await notifier.flush(within: .seconds(1))
        let task = background.withLock { $0 }
        task?.cancel()
        await task?.value
    }
}

extension TokenHash {
    /// The 32 bytes, as a `bytea` parameter.
    var bytea: ByteBuffer { ByteBuffer(bytes: bytes) }
}

extension Session {
    /// This session under the id the database gave it.
    func reidentified(id: Int64) -> Session {
        Session(
            id: id, tokenHash: tokenHash, userID: userID, data: data, metadata: metadata, createdAt: createdAt,
            updatedAt: updatedAt, lastSeenAt: lastSeenAt, deadlines: deadlines, version: version, ip: ip,
            userAgent: userAgent, lastSeenIP: lastSeenIP, lastSeenUserAgent: lastSeenUserAgent
        )
    }
}

/// Brings the schema up to date once, before the first operation; a failure (the server not up
/// yet) is tried again by the next operation.
final class SchemaGate: Sendable {
    private let client: PostgresClient
    private let schema: String?
    private let migrates: Bool
    private let logger: Logger
    private let done = Atomic<Bool>(false)
    private let migration = Mutex<Task<Void, any Error>?>(nil)

    init(client: PostgresClient, schema: String?, migrates: Bool, logger: Logger) {
        self.client = client
        self.schema = schema
        self.migrates = migrates
        self.logger = logger
    }

    func ready() async throws(SessionStoreError) {
        if done.load(ordering: .acquiring) { return }
        let task = migration.withLock { task in
            if let task { return task }
            let started = Task { [client, schema, migrates, logger] in
                if migrates {
                    try await PostgresSchema.migrate(client, schema: schema, logger: logger)
                } else {
                    try await PostgresSchema.check(client, logger: logger)
                }
            }
            task = started
            return started
        }
        do {
            // A caller that is cancelled (close() stopping the follower) stops the migration too:
            // it may be waiting for a connection from a pool that will never give one.
            try await withTaskCancellationHandler {
                try await task.value
            } onCancel: {
                task.cancel()
            }
            done.store(true, ordering: .releasing)
        } catch {
            migration.withLock { if $0 == task { $0 = nil } }
            throw error as? SessionStoreError ?? SessionStoreError(.internalError, "migrating the session schema failed: \(error)")
        }
    }
}

/// `SELECT` of one session by its token hash, prepared once per pooled connection.
struct ReadSessionStatement: PostgresPreparedStatement {
    static let sql = "SELECT \(PostgresSessionRow.columns) FROM sessions WHERE token_hash = $1"
    typealias Row = PostgresRow

    let hash: ByteBuffer

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(hash)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
#endif

import Foundation
import Logging
public import ServiceLifecycle
public import Sessions
public import SQLiteSessions

/// A SQLite store mirrored to Redis: every operation is served by SQLite, on this host, whether
/// or not Redis is reachable; a ``RedisReplicator`` copies each change to Redis behind it.
///
/// ```swift
/// let primary = try SQLiteSessionStore(path: "sessions.sqlite")
/// let store = ReplicatedSessionStore(primary: primary, client: try RedisClient(url: "redis://10.0.0.5:6379"),
///                                    configuration: .init(name: "web-1"))
/// // run store.services in your ServiceGroup
/// ```
///
/// **One host** (the default): Redis holds a copy, for other readers and for recovery. With
/// ``Configuration/readThrough`` on, a load that finds nothing locally asks Redis, and a session
/// found there is adopted into the local file.
///
/// **Several hosts** (``Configuration/sharing`` set): every host keeps every session in its own
/// file and memory and serves any of them, and what one host changes reaches the others in
/// milliseconds through a Redis stream (``SessionStreamFollower``):
/// - a save or a rotation is a compare-and-set against Redis before it is committed here, so two
///   hosts changing one session at once do not lose either change (the loser gets
///   `SessionStoreError.Code.conflict` and `SessionStore.update(_:maxAttempts:client:_:)`
///   runs again on the winner's result);
/// - a deletion, a revocation, a rotation or "log out everywhere" leaves a tombstone (or a
///   revocation point) here and in Redis, which refuses every later copy of that session: a
///   logout is never undone, whatever arrives in whatever order;
/// - while Redis is out of reach, every operation goes on against the local file, and when it is
///   back, concurrent changes are settled by the later clock (then the host), the same on every
///   host, each lost change counted (`sessions_sync_overwritten_total`) and logged.
public final class ReplicatedSessionStore: SessionStoreAdministration, SessionMessageLog {
    /// How the replica is named and used.
    public struct Configuration: Sendable {
        /// The replicator's settings (its name, Redis key layout, batch size, polling).
        public var replication: RedisReplicator.Configuration
        /// Ask Redis when a session is not found locally. Off by default; on by default when sharing.
        public var readThrough: Bool
        /// Report "degraded" once this many changes wait to be replicated (any backlog while Redis is unreachable).
        public var degradedBacklog: Int64
        /// Share sessions with the other hosts that use the same Redis; nil for one host.
        public var sharing: Sharing?

        /// Creates a configuration; each parameter sets the property of the same name, except that a
        /// nil `readThrough` means on when `sharing` is set and off otherwise.
        public init(replication: RedisReplicator.Configuration, readThrough: Bool? = nil, degradedBacklog: Int64 = 10_000, sharing: Sharing? = nil) {
            self.replication = replication
            self.readThrough = readThrough ?? (sharing != nil)
            self.degradedBacklog = degradedBacklog
            self.sharing = sharing
        }

        /// A configuration with default replication settings.
        public init(name: String, keyPrefix: String = "", readThrough: Bool? = nil, sharing: Sharing? = nil) {
            self.init(replication: .init(name: name, keys: RedisSessionKeys(prefix: keyPrefix)), readThrough: readThrough, sharing: sharing)
        }
    }

    /// How hosts that share sessions through one Redis keep each other current.
    public struct Sharing: Sendable {
        /// What a host does while it is cut off from Redis for longer than ``staleAfter``.
        public enum WhenStale: String, Sendable, Hashable, CaseIterable {
            /// Keep serving every session it holds: an edge site must work offline. The default.
            case serve
            /// Refuse sessions other hosts created (their tokens' selectors carry the creating
            /// host's clock tag) until the stream answers again: they may have been revoked meanwhile.
            case refuse
        }

        /// The most entries the change stream keeps (approximately); a host that falls further
        /// behind copies everything from Redis again.
        public var streamLength: Int
        /// How long without an answer from Redis before this host counts as cut off.
        public var staleAfter: Duration
        /// What a cut-off host does with sessions other hosts created.
        public var whenStale: WhenStale
        /// How long a deleted session without an absolute deadline stays refused. A host cut
        /// off for longer, whose users kept using such a session, may bring it back.
        public var tombstoneRetention: Duration
        /// How long a save or rotation waits for Redis's compare-and-set before it is committed
        /// here alone (and settled by the clock later).
        public var writeTimeout: Duration
        /// Settings of the stream follower (the block time, batch size, logger...); its name
        /// and keys are the replicator's.
        public var follower: SessionStreamFollower.Configuration?

        /// Creates sharing settings; each parameter sets the property of the same name.
        public init(
            streamLength: Int = 100_000,
            staleAfter: Duration = .seconds(30),
            whenStale: WhenStale = .serve,
            tombstoneRetention: Duration = .seconds(7 * 86_400),
            writeTimeout: Duration = .milliseconds(500),
            follower: SessionStreamFollower.Configuration? = nil
        ) {
            self.streamLength = streamLength
            self.staleAfter = staleAfter
            self.whenStale = whenStale
            self.tombstoneRetention = tombstoneRetention
            self.writeTimeout = writeTimeout
            self.follower = follower
        }
    }

    /// The local store, the source of truth.
    public let primary: SQLiteSessionStore
    /// The service that copies changes to Redis; run it.
    public let replicator: RedisReplicator
    /// The service that applies other hosts' changes, when sharing; run it.
    public let follower: SessionStreamFollower?
    /// How the replica is named and used.
    public let configuration: Configuration
    private let redis: RedisSessionStore
    private let client: RedisClient
    private let link = SyncLink()
    private let hints = SessionChangeListeners()

    /// Creates a store served by `primary` and mirrored to Redis through `client`, with the
    /// replicator and, when sharing, the stream follower that ``services`` lists.
    ///
    /// When ``Configuration/sharing`` is set, this also makes `primary` remember deletions
    /// (tombstones), gives its clock the replica name's host tag, uses ``Sharing/streamLength`` as
    /// the replicator's stream length, and gives the follower the replicator's name and keys,
    /// ``Sharing/staleAfter``, and a one-connection Redis client of its own.
    public init(primary: SQLiteSessionStore, client: RedisClient, configuration: Configuration) {
        self.primary = primary
        self.client = client
        self.configuration = configuration
        var replication = configuration.replication
        if let sharing = configuration.sharing {
            primary.sharing.enable(retention: sharing.tombstoneRetention)
            replication.streamLength = sharing.streamLength
            // The name's own tag until the follower has read the one this file keeps, or the
            // registry in Redis has given one.
            primary.clock.hostTag = HybridClock.tag(forHostName: replication.name)
        }
        let replicator = RedisReplicator(primary: primary, client: client, configuration: replication, link: link, hints: hints)
        self.replicator = replicator
        self.redis = RedisSessionStore(client: client, policy: primary.policy, keys: replication.keys)
        if let sharing = configuration.sharing {
            var settings = sharing.follower ?? SessionStreamFollower.Configuration(name: replication.name)
            settings.name = replication.name
            settings.keys = replication.keys
            settings.staleAfter = sharing.staleAfter
            // Blocking reads hold their connection: they get one of their own.
            var followerClient = client.configuration
            followerClient.connections = 1
            followerClient.commandTimeout = settings.block + followerClient.commandTimeout
            self.follower = SessionStreamFollower(
                primary: primary,
                client: RedisClient(configuration: followerClient),
                configuration: settings,
                link: link,
                hints: hints,
                republish: { entries in _ = try await replicator.send(entries, marker: nil) }
            )
        } else {
            self.follower = nil
        }
    }

    /// The services to run with this store: the replicator, and the stream follower when sharing.
    public var services: [any Service] {
        [replicator] + (follower.map { [$0] } ?? [])
    }

    public var policy: SessionPolicy { primary.policy }

    // MARK: Reads

    public func load(_ token: SessionToken, client: SessionClient?) async throws -> Session? {
        if refusesForeign(token) { return nil }
        if let session = try await primary.load(token, client: client) { return session }
        guard configuration.readThrough, try await adopt(token.hash) else { return nil }
        return try await primary.load(token, client: client)
    }

    public func timeToLive(_ token: SessionToken) async throws -> Duration? {
        if refusesForeign(token) { return nil }
        if let ttl = try await primary.timeToLive(token) { return ttl }
        guard configuration.readThrough, try await adopt(token.hash) else { return nil }
        return try await primary.timeToLive(token)
    }

    /// Copies the session with this hash from Redis into the local file, if Redis has it live
    /// and this host does not know it to be dead.
    private func adopt(_ hash: TokenHash) async throws -> Bool {
        guard configuration.sharing == nil || link.isUp,
            let reply = await bestEffort("reading a session through from Redis", { try await client.send(RedisCommand("GET", .string(configuration.replication.keys.session(hash)))) }),
            let text = reply.string,
            let shared = try? SessionRecord.shared(text),
            !shared.session.isExpired(at: policy.now)
        else { return false }
        let outcome = try await primary.applyShared([.put(shared, replacing: nil)], origin: primary.sharedOrigin, durable: false)
        return outcome.first != .refused
    }

    /// Whether this host, cut off from the other hosts for too long, refuses a session another
    /// host created (``Sharing/WhenStale/refuse``).
    private func refusesForeign(_ token: SessionToken) -> Bool {
        guard let sharing = configuration.sharing, sharing.whenStale == .refuse, let follower, follower.isStale else { return false }
        return HybridClock.hostTag(of: token.selector) != primary.clock.hostTag
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        try await primary.sessions(forUser: userID)
    }

    public func list(_ query: SessionQuery) async throws -> SessionPage {
        try await primary.list(query)
    }

    public func count(includeExpired: Bool) async throws -> Int {
        try await primary.count(includeExpired: includeExpired)
    }

    public func stats() async throws -> SessionStoreStats {
        try await primary.stats()
    }

    public func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]? {
        if refusesForeign(token) { return nil }
        return try await primary.messages(for: token, last: count)
    }

    // MARK: Writes

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        try await afterwardsWaking { try await primary.create(draft) }
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        guard let sharing = configuration.sharing, link.isUp else {
            return try await afterwardsWaking { try await primary.save(session, expectedVersion: expectedVersion) }
        }
        try policy.validate(session)
        let changes = try policy.sealed(session)
        for _ in 0..<RedisSessionStore.maxAttempts {
            guard let base = try await primary.sharedSessions([.init(tokenHash: session.tokenHash, id: session.id)])[session.tokenHash],
                !base.session.isExpired(at: policy.now)
            else { throw SessionStoreError.sessionGone(session.tokenHash) }
            let now = policy.now
            let saved = try base.session.saving(changes, expectedVersion: expectedVersion, at: now)
            let shared = SharedSession(session: saved, clock: nextClock(after: base.clock, at: now), baseClock: base.clock)
            switch try await compareAndSet(shared, previous: nil, sharing: sharing) {
            case .written:
                var returned = saved
                returned.data = session.data
                return returned
            case .gone:
                throw SessionStoreError.sessionGone(session.tokenHash)
            case .conflict:
                if expectedVersion != nil {
                    throw SessionStoreError(.conflict, "session \(session.tokenHash.shortHex) was changed on another host since version \(base.session.version)")
                }
            }
        }
        throw SessionStoreError(.busy, "session \(session.tokenHash.shortHex) kept changing on other hosts under \(RedisSessionStore.maxAttempts) attempts to save it")
    }

    public func save(_ sessions: [Session]) async throws -> [Session?] {
        guard configuration.sharing != nil else { return try await afterwardsWaking { try await primary.save(sessions) } }
        var saved: [Session?] = []
        for session in sessions {
            do {
                saved.append(try await save(session, expectedVersion: nil))
            } catch let error as SessionStoreError where error.code == .notFound {
                saved.append(nil)
            }
        }
        return saved
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        if refusesForeign(token) { return nil }
        if configuration.readThrough, try await primary.exists(token) == false {
            _ = try await adopt(token.hash)
        }
        guard let sharing = configuration.sharing, link.isUp else {
            return try await afterwardsWaking { try await primary.rotate(token, saving: changes, expectedVersion: expectedVersion) }
        }
        if let changes { try policy.validate(changes) }
        let sealed = try changes.map { changes throws(SessionStoreError) in try policy.sealed(changes) }
        for _ in 0..<RedisSessionStore.maxAttempts {
            guard let base = try await primary.sharedSession(for: token) else { return nil }
            let now = policy.now
            // The selector stays, as in the SQLite store's own rotation.
            let newToken = base.session.id == token.selector ? token.withNewSecret() : SessionToken.generate(selector: base.session.id)
            let rotated = try base.session.rotating(to: newToken, saving: sealed, expectedVersion: expectedVersion, at: now)
            let shared = SharedSession(session: rotated, clock: nextClock(after: base.clock, at: now), baseClock: base.clock)
            switch try await compareAndSet(shared, previous: token.hash, sharing: sharing) {
            case .written:
                return IssuedSession(token: newToken, session: try policy.opened(rotated))
            case .gone:
                return nil
            case .conflict:
                if expectedVersion != nil {
                    throw SessionStoreError(.conflict, "session \(token.hash.shortHex) was changed on another host since version \(base.session.version)")
                }
            }
        }
        throw SessionStoreError(.busy, "session \(token.hash.shortHex) kept changing on other hosts under \(RedisSessionStore.maxAttempts) attempts to rotate it")
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session? {
        if refusesForeign(token) { return nil }
        // A use only moves last_seen_at, which never competes with other hosts' writes; new
        // limits are contents, and go by compare-and-set like a save.
        guard let expiration, let sharing = configuration.sharing, link.isUp else {
            return try await afterwardsWaking { try await primary.touch(token, expiration: expiration, client: client) }
        }
        try expiration.validate()
        for _ in 0..<RedisSessionStore.maxAttempts {
            guard let base = try await primary.sharedSession(for: token) else { return nil }
            let now = policy.now
            let touched = base.session.touching(at: now, expiration: expiration, by: policy.clipped(client))
            let shared = SharedSession(session: touched, clock: nextClock(after: base.clock, at: now), baseClock: base.clock)
            switch try await compareAndSet(shared, previous: nil, sharing: sharing) {
            case .written: return try policy.opened(touched)
            case .gone: return nil
            case .conflict: continue
            }
        }
        throw SessionStoreError(.busy, "session \(token.hash.shortHex) kept changing on other hosts under \(RedisSessionStore.maxAttempts) attempts to change its expiry")
    }

    public func delete(_ token: SessionToken) async throws -> Bool {
        var local = try await afterwardsWaking { try await primary.delete(token) }
        if !local, let sharing = configuration.sharing {
            if try await adopt(token.hash) {
                local = try await afterwardsWaking { try await primary.delete(token) }
            } else {
                // Made on another host and not here yet, nor in Redis (or Redis is out of
                // reach): remember the token is dead, so the copy on its way is refused when it
                // arrives, and tell the others.
                try await afterwardsWaking {
                    try await primary.recordDeletion(of: token.hash, sessionID: token.selector, until: policy.now + sharing.tombstoneRetention)
                }
            }
        }
        guard configuration.readThrough, configuration.sharing == nil else { return local }
        let remote = await bestEffort("deleting a session in Redis", { try await redis.delete(token) }) ?? false
        return local || remote
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        let local = try await afterwardsWaking { try await primary.deleteSessions(forUser: userID) }
        guard configuration.readThrough, configuration.sharing == nil else { return local }
        return local + (await bestEffort("revoking a user's sessions in Redis", { try await redis.deleteSessions(forUser: userID) }) ?? 0)
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        var local = try await afterwardsWaking { try await primary.revokeSession(hash, ofUser: userID) }
        if !local, configuration.sharing != nil, try await adopt(hash) {
            local = try await afterwardsWaking { try await primary.revokeSession(hash, ofUser: userID) }
        }
        guard configuration.readThrough, configuration.sharing == nil else { return local }
        let remote = await bestEffort("revoking a session in Redis", { try await redis.revokeSession(hash, ofUser: userID) }) ?? false
        return local || remote
    }

    public func purgeExpired(limit: Int) async throws -> Int {
        try await primary.purgeExpired(limit: limit)
    }

    /// Appends to the local log; when sharing, the message reaches the other hosts' copies of
    /// the log through the stream, so members of one conversation see one history on every host.
    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        if refusesForeign(token) { throw SessionStoreError(.notFound, "session \(token.hash.shortHex) was created on another host, which this host cannot reach") }
        return try await afterwardsWaking { try await primary.append(message, to: token) }
    }

    // MARK: Writing through Redis

    private enum CompareAndSet {
        /// The file has the write; Redis took it too, or did not answer in time (then the
        /// replicator sends it, and the clock settles it against whatever Redis has).
        case written
        /// The session is dead (deleted, revoked, rotated away) in Redis or here.
        case gone
        /// Another host wrote the session since; its version is now in the file.
        case conflict
    }

    /// Writes `shared` to Redis if Redis holds no later contents of the session than the write
    /// started from, then to the file. The write goes to Redis first so that a host that loses
    /// the race has written nothing.
    private func compareAndSet(_ shared: SharedSession, previous: TokenHash?, sharing: Sharing) async throws -> CompareAndSet {
        let entry = SyncEntry.put(shared, record: replicator.record(shared), previous: previous, compareWith: shared.baseClock)
        let result: SyncResult
        do {
            result = try await Deadline.run(within: sharing.writeTimeout) { [replicator] in
                try await replicator.send([entry], marker: nil).first ?? .invalid("no answer")
            }
        } catch let error as SessionStoreError where [.unavailable, .timeout, .closed].contains(error.code) {
            link.failed(error)
            configuration.replication.logger.notice(
                "Redis did not answer a compare-and-set in time; writing locally, to be settled when it is back",
                metadata: ["replica": "\(configuration.replication.name)", "error": "\(error)"]
            )
            // The same value Redis may have taken, so both end up holding one version.
            return try await writeLocally(shared, previous: previous)
        }
        link.succeeded()
        switch result {
        case .applied, .unchanged, .overwrote:
            return try await writeLocally(shared, previous: previous)
        case .conflict(let text):
            if let text, let later = try? SessionRecord.shared(text) {
                _ = try await primary.applyShared([.put(later, replacing: nil)], origin: primary.sharedOrigin, durable: false)
                hints.notify(.changed)
            }
            return .conflict
        case .refused:
            // The replicator's answer handling has ended the session here too.
            return .gone
        case .stale, .missing, .invalid:
            throw SessionStoreError(.protocolError, "Redis answered a compare-and-set with \(result)")
        }
    }

    /// Commits a compare-and-set write to the file, under this store's own origin: it is this
    /// host's write, acknowledged to its caller.
    private func writeLocally(_ shared: SharedSession, previous: TokenHash?) async throws -> CompareAndSet {
        let outcome = try await primary.applyShared([.put(shared, replacing: previous)], origin: primary.origin)
        replicator.wakeUp()
        return outcome.first == .refused ? .gone : .written
    }

    /// A clock reading for a write of contents stamped `base`: this host's next reading, or,
    /// should `base` be ahead of it (another host's clock runs ahead), the smallest reading
    /// after `base` with this host's tag. The shared clock is not dragged along.
    private func nextClock(after base: Int64, at now: SessionInstant) -> Int64 {
        let reading = primary.clock.next(at: now)
        guard reading <= base else { return reading }
        return (((base >> HybridClock.hostBits) + 1) << HybridClock.hostBits) | primary.clock.hostTag
    }

    /// Runs a local write, then tells the replicator, so the change leaves for Redis at once.
    private func afterwardsWaking<T>(_ write: () async throws -> T) async throws -> T {
        let result = try await write()
        replicator.wakeUp()
        return result
    }

    // MARK: Health and lifecycle

    /// Healthy while SQLite serves and Redis keeps up; degraded, with the backlog, while Redis is
    /// unreachable or far behind (every operation still works), or while this host has been cut
    /// off from the other hosts for longer than ``Sharing/staleAfter``; unhealthy only when SQLite fails.
    public func healthCheck() async -> SessionStoreHealth {
        var health = await primary.healthCheck()
        // Counted against the change log's head now: a change committed since the last poll counts.
        let status = await replicator.currentStatus()
        health.details["replica"] = status.name
        health.details["replication_backlog"] = String(status.backlog)
        health.details["replication_applied"] = String(status.appliedSequence)
        if let lagP99 = status.lagP99 { health.details["replication_lag_p99_ms"] = String(lagP99.wholeMilliseconds) }
        if let error = status.lastError { health.details["replication_error"] = error }
        let sync = follower?.status
        if let sync {
            health.details["sync_position"] = sync.position ?? "none"
            health.details["sync_sequence"] = String(sync.sequence)
            if let lag = sync.lag { health.details["sync_lag_ms"] = String(lag.wholeMilliseconds) }
            if let since = sync.sinceContact { health.details["sync_since_contact_ms"] = String(since.wholeMilliseconds) }
            health.details["sync_stale"] = String(sync.stale)
            health.details["sync_host_tag"] = String(sync.hostTag)
            health.details["sync_overwritten"] = String(sync.overwritten)
            health.details["sync_resyncs"] = String(sync.resyncs)
            health.details["sync_applied"] = String(sync.applied)
            if let error = sync.lastError { health.details["sync_error"] = error }
        }
        guard health.status == .healthy else { return health }
        if let sync, sync.stale {
            health.status = .degraded
            health.message = "serving from SQLite; cut off from the other hosts' changes for \(sync.sinceContact.map { "\($0)" } ?? "ever")"
                + (configuration.sharing?.whenStale == .refuse ? ", refusing sessions other hosts created" : "")
        } else if !status.redisReachable && status.lastError != nil {
            health.status = .degraded
            health.message = "serving from SQLite; Redis unreachable, \(status.backlog) changes waiting"
        } else if status.backlog >= configuration.degradedBacklog {
            health.status = .degraded
            health.message = "serving from SQLite; Redis is \(status.backlog) changes behind"
        }
        return health
    }

    /// Runs a Redis operation that must not fail the local one: a failure is logged and gives nil.
    /// The replicator brings Redis in line later either way.
    private func bestEffort<T>(_ what: String, _ operation: () async throws -> T) async -> T? {
        do {
            return try await operation()
        } catch {
            configuration.replication.logger.notice(
                "\(what) failed; continuing with the local store",
                metadata: ["replica": "\(configuration.replication.name)", "error": "\(error)"]
            )
            return nil
        }
    }

    /// Closes the local store and the Redis connections. Stop the replicator (and the follower)
    /// first (cancel its task or shut its service group down); what it has not applied is
    /// applied on the next start.
    public func close() async throws {
        try await primary.close()
        try await redis.close()
        follower?.client.close()
    }
}

extension ReplicatedSessionStore: SessionChangeFeed {
    public var changeOrigin: Int64 { primary.changeOrigin }

    /// A reader of the local file's change log: every change this host (and any other process on
    /// the file, and other hosts through the stream) makes, the same log the replicator follows.
    public func makeChangeReader() throws -> any SessionChangeReader {
        try primary.makeChangeReader()
    }
}

extension ReplicatedSessionStore: SessionChangeNotifying {
    /// Hints for a cache in front: removals from other hosts as soon as they arrive, and news
    /// in the change log as soon as it is written.
    public func addChangeListener(_ listener: @escaping @Sendable (SessionChangeHint) -> Void) {
        hints.add(listener)
    }
}

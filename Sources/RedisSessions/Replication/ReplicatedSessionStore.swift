import Foundation
import Logging
public import Sessions
public import SQLiteSessions

/// A SQLite store mirrored to Redis: every operation is served by SQLite, on this host, whether
/// or not Redis is reachable; a ``RedisReplicator`` copies each change to Redis behind it.
///
/// ```swift
/// let primary = try SQLiteSessionStore(path: "sessions.sqlite")
/// let store = ReplicatedSessionStore(primary: primary, client: try RedisClient(url: "redis://10.0.0.5:6379"),
///                                    configuration: .init(name: "web-1"))
/// // run store.replicator in your ServiceGroup
/// ```
///
/// With ``Configuration/readThrough`` on, a load that finds nothing locally asks Redis, so a
/// session created on another host that replicates to the same Redis works here too. Such a
/// session is adopted: copied into the local file and served from it from then on; writes to
/// it are applied locally and replicated back to Redis. The host that created it keeps its own
/// copy and does not see those writes, so route each session to one host at a time (or use
/// ``RedisSessionStore`` when sessions move freely between hosts). Deleting and revoking are
/// also sent to Redis at once in this mode, so a logout takes effect on every host.
public final class ReplicatedSessionStore: SessionStore {
    /// How the replica is named and used.
    public struct Configuration: Sendable {
        /// The replicator's settings (its name, Redis key layout, batch size, polling).
        public var replication: RedisReplicator.Configuration
        /// Ask Redis when a session is not found locally. Off by default.
        public var readThrough: Bool
        /// Report "degraded" once this many changes wait to be replicated (any backlog while Redis is unreachable).
        public var degradedBacklog: Int64

        public init(replication: RedisReplicator.Configuration, readThrough: Bool = false, degradedBacklog: Int64 = 10_000) {
            self.replication = replication
            self.readThrough = readThrough
            self.degradedBacklog = degradedBacklog
        }

        /// A configuration with default replication settings.
        public init(name: String, keyPrefix: String = "", readThrough: Bool = false) {
            self.init(replication: .init(name: name, keys: RedisSessionKeys(prefix: keyPrefix)), readThrough: readThrough)
        }
    }

    /// The local store, the source of truth.
    public let primary: SQLiteSessionStore
    /// The service that copies changes to Redis; run it.
    public let replicator: RedisReplicator
    /// How the replica is named and used.
    public let configuration: Configuration
    private let redis: RedisSessionStore

    public init(primary: SQLiteSessionStore, client: RedisClient, configuration: Configuration) {
        self.primary = primary
        self.configuration = configuration
        self.replicator = RedisReplicator(primary: primary, client: client, configuration: configuration.replication)
        self.redis = RedisSessionStore(client: client, policy: primary.policy, keys: configuration.replication.keys)
    }

    public var policy: SessionPolicy { primary.policy }

    public func create(_ draft: SessionDraft) async throws -> IssuedSession {
        try await primary.create(draft)
    }

    public func load(_ token: SessionToken, client: SessionClient?) async throws -> Session? {
        if let session = try await primary.load(token, client: client) { return session }
        guard configuration.readThrough,
            let remote = await bestEffort("reading a session through from Redis", { try await redis.load(token, client: nil) }) ?? nil
        else { return nil }
        _ = try await primary.importSessions([remote])
        return try await primary.load(token, client: client)
    }

    public func save(_ session: Session, expectedVersion: Int64?) async throws -> Session {
        try await primary.save(session, expectedVersion: expectedVersion)
    }

    public func save(_ sessions: [Session]) async throws -> [Session?] {
        try await primary.save(sessions)
    }

    public func touch(_ token: SessionToken, expiration: ExpirationPolicy?, client: SessionClient?) async throws -> Session? {
        try await primary.touch(token, expiration: expiration, client: client)
    }

    public func timeToLive(_ token: SessionToken) async throws -> Duration? {
        if let ttl = try await primary.timeToLive(token) { return ttl }
        guard configuration.readThrough else { return nil }
        return await bestEffort("reading a session's time to live from Redis", { try await redis.timeToLive(token) }) ?? nil
    }

    public func exists(_ token: SessionToken) async throws -> Bool {
        try await timeToLive(token) != nil
    }

    public func delete(_ token: SessionToken) async throws -> Bool {
        let local = try await primary.delete(token)
        guard configuration.readThrough else { return local }
        let remote = await bestEffort("deleting a session in Redis", { try await redis.delete(token) }) ?? false
        return local || remote
    }

    public func delete(_ tokens: [SessionToken]) async throws -> Int {
        var deleted = 0
        for token in tokens where try await delete(token) { deleted += 1 }
        return deleted
    }

    public func rotate(_ token: SessionToken, saving changes: Session?, expectedVersion: Int64?) async throws -> IssuedSession? {
        if configuration.readThrough, try await primary.exists(token) == false {
            _ = try await load(token, client: nil)
        }
        return try await primary.rotate(token, saving: changes, expectedVersion: expectedVersion)
    }

    public func sessions(forUser userID: String) async throws -> [Session] {
        try await primary.sessions(forUser: userID)
    }

    public func deleteSessions(forUser userID: String) async throws -> Int {
        let local = try await primary.deleteSessions(forUser: userID)
        guard configuration.readThrough else { return local }
        return local + (await bestEffort("revoking a user's sessions in Redis", { try await redis.deleteSessions(forUser: userID) }) ?? 0)
    }

    public func revokeSession(_ hash: TokenHash, ofUser userID: String) async throws -> Bool {
        let local = try await primary.revokeSession(hash, ofUser: userID)
        guard configuration.readThrough else { return local }
        let remote = await bestEffort("revoking a session in Redis", { try await redis.revokeSession(hash, ofUser: userID) }) ?? false
        return local || remote
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

    public func purgeExpired(limit: Int) async throws -> Int {
        try await primary.purgeExpired(limit: limit)
    }

    /// Appends to the local log. Message logs stay on this host; they are not mirrored to Redis.
    public func append(_ message: SessionMessageDraft, to token: SessionToken) async throws -> SessionMessage {
        try await primary.append(message, to: token)
    }

    public func messages(for token: SessionToken, last count: Int) async throws -> [SessionMessage]? {
        try await primary.messages(for: token, last: count)
    }

    /// Healthy while SQLite serves and Redis keeps up; degraded, with the backlog, while Redis is
    /// unreachable or far behind (every operation still works); unhealthy only when SQLite fails.
    public func healthCheck() async -> SessionStoreHealth {
        var health = await primary.healthCheck()
        // Counted against the change log's head now: a change committed since the last poll counts.
        let status = await replicator.currentStatus()
        health.details["replica"] = status.name
        health.details["replication_backlog"] = String(status.backlog)
        health.details["replication_applied"] = String(status.appliedSequence)
        if let lagP99 = status.lagP99 { health.details["replication_lag_p99_ms"] = String(lagP99.wholeMilliseconds) }
        if let error = status.lastError { health.details["replication_error"] = error }
        guard health.status == .healthy else { return health }
        if !status.redisReachable && status.lastError != nil {
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

    /// Closes the local store and the Redis connections. Stop the replicator first (cancel its
    /// task or shut its service group down); what it has not applied is applied on the next start.
    public func close() async throws {
        try await primary.close()
        try await redis.close()
    }
}

extension ReplicatedSessionStore: SessionChangeFeed {
    public var changeOrigin: Int64 { primary.changeOrigin }

    /// A reader of the local file's change log: every change this host (and any other process on
    /// the file) makes, the same log the replicator follows.
    public func makeChangeReader() throws -> any SessionChangeReader {
        try primary.makeChangeReader()
    }
}

public import Foundation
public import ServiceLifecycle
public import Sessions
import SQLiteSessions

/// Builds the store a service's environment asks for, as twelve-factor services expect.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `SESSION_DB` | SQLite file | `./sessions.sqlite` |
/// | `USE_REDIS` | `true`: keep sessions in Redis only, at `REDIS_URL` | `false` |
/// | `REDIS_URL` | `redis://[user:password@]host:port/db` for `USE_REDIS` | |
/// | `SESSION_REPLICATE_TO` | `redis://…`: SQLite, mirrored to this Redis | |
/// | `SESSION_TTL` | idle timeout: a session ends this long after its last use | 30m |
/// | `SESSION_MAX_AGE` | absolute lifetime from creation | 24h |
/// | `SESSION_DURABILITY` | `full` or `normal` | `full` |
/// | `SESSION_CACHE` | `false` turns off the memory cache in front of SQLite | `true` |
/// | `SESSION_SWEEP_INTERVAL` | time between purges of expired sessions; 0 turns sweeping off | 60s |
/// | `SESSION_KEY_PREFIX` | prefix of every Redis key | empty |
/// | `SESSION_REPLICA_NAME` | this host's name in replication | the host name |
/// | `SESSION_READ_THROUGH` | `true`: look in Redis for sessions not found locally | `false` (`true` with `SESSION_SYNC`) |
/// | `SESSION_SYNC` | `true`: share sessions with every host that replicates to the same Redis (needs `SESSION_REPLICATE_TO` and a `SESSION_REPLICA_NAME` of its own per host) | `false` |
/// | `SESSION_SYNC_STALE_AFTER` | how long without Redis before a host counts as cut off | 30s |
/// | `SESSION_SYNC_WHEN_STALE` | what a cut-off host does with sessions other hosts created: `serve` or `refuse` | `serve` |
/// | `SESSION_SYNC_STREAM_LENGTH` | entries the change stream keeps; a host further behind copies everything again | 100000 |
/// | `SESSION_TOMBSTONE_RETENTION` | how long a deleted session without an absolute deadline stays refused | 7d |
/// | `SESSION_REPLICA_WAIT` | Redis replicas that must have each batch (`WAIT`) before it counts as sent | 0 |
/// | `SESSION_REPLICA_SHUTDOWN_DEADLINE` | how long a graceful shutdown may spend sending committed changes to Redis | 5s |
/// | `SESSION_ENCRYPTION_KEYS` | `id:base64key,…`: seal session data and messages with AES-256-GCM; the first key is current (`sessionctl keygen` makes one) | off |
/// | `SESSION_MAX_PER_USER` | the most live sessions per user; one more evicts one | no limit |
/// | `SESSION_EVICT` | which session gives way: `oldest` (created first) or `idle` (used least recently) | `oldest` |
/// | `SESSION_MAX_MESSAGES` | messages kept per session's log | 1000 |
///
/// Every value is checked; a bad one is explained in a ``Sessions/SessionStoreError`` with
/// ``Sessions/SessionStoreError/Code/configurationError``.
public enum SessionStoreFactory {
    /// A store and the background services it needs; run `services` in the app's `ServiceGroup`.
    public struct Setup: Sendable {
        /// The store to use, with its administration and message log.
        public let store: any SessionStoreAdministration & SessionMessageLog
        /// The services the store needs, in the order a `ServiceGroup` wants them: a
        /// ``Sessions/SessionStoreCloser`` first (shut down last, so it closes the store after the
        /// others stopped), then the sweeper, then the replicator when replicating. Put the web
        /// server after them.
        public let services: [any Service]
        /// One line for the startup log: which store, where.
        public let summary: String
    }

    /// Reads the environment and builds the store it describes.
    ///
    /// - Parameters:
    ///   - environment: The variables; the process environment by default.
    ///   - clock: Where time comes from; the system clock by default.
    public static func make(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        clock: any SessionClock = SystemSessionClock()
    ) throws -> Setup {
        let variables = environment.filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }
        let policy = try makePolicy(variables, clock: clock)
        let sweepInterval = try variables["SESSION_SWEEP_INTERVAL"].map { try DurationText.parse($0, name: "SESSION_SWEEP_INTERVAL") }
            ?? .seconds(60)
        let useRedis = try flag(variables, "USE_REDIS")
        let replicateTo = variables["SESSION_REPLICATE_TO"]
        let prefix = variables["SESSION_KEY_PREFIX"] ?? ""

        if useRedis {
            guard replicateTo == nil else {
                throw SessionStoreError(
                    .configurationError,
                    "USE_REDIS=true and SESSION_REPLICATE_TO are both set; choose Redis only (USE_REDIS) or SQLite replicated to Redis (SESSION_REPLICATE_TO)"
                )
            }
            guard let url = variables["REDIS_URL"] else {
                throw SessionStoreError(.configurationError, "USE_REDIS=true needs REDIS_URL=redis://host:port/db")
            }
            let client = RedisClient(configuration: try configuration(url, variable: "REDIS_URL"))
            let store = RedisSessionStore(client: client, policy: policy, keys: RedisSessionKeys(prefix: prefix))
            let sweeper = SessionSweeper(store: store, configuration: .init(interval: sweepInterval))
            return Setup(
                store: store,
                services: [SessionStoreCloser(store: store), sweeper],
                summary: "Redis session store at \(client.configuration)"
            )
        }

        let path = variables["SESSION_DB"] ?? "sessions.sqlite"
        let durability: SQLiteSessionStore.Durability
        switch variables["SESSION_DURABILITY"]?.lowercased() ?? "full" {
        case "full": durability = .full
        case "normal": durability = .normal
        case let other:
            throw SessionStoreError(.configurationError, "SESSION_DURABILITY=\"\(other)\" must be full or normal")
        }
        // Every value is checked before the file is opened.
        let replica = try replicateTo.map { url throws(SessionStoreError) in try configuration(url, variable: "SESSION_REPLICATE_TO") }
        let sync = try flag(variables, "SESSION_SYNC")
        let readThrough = try variables["SESSION_READ_THROUGH"] == nil ? nil : flag(variables, "SESSION_READ_THROUGH")
        let sharing = try sync ? makeSharing(variables) : nil
        if sync && replica == nil {
            throw SessionStoreError(.configurationError, "SESSION_SYNC=true needs SESSION_REPLICATE_TO=redis://host:port: hosts share sessions through that Redis")
        }
        let shutdownDeadline = try variables["SESSION_REPLICA_SHUTDOWN_DEADLINE"].map { text throws(SessionStoreError) in
            try DurationText.parse(text, name: "SESSION_REPLICA_SHUTDOWN_DEADLINE")
        }
        let cached = try flag(variables, "SESSION_CACHE", default: true)
        var replicaWait = 0
        if let text = variables["SESSION_REPLICA_WAIT"] {
            guard let replicas = Int(text.trimmingCharacters(in: .whitespaces)), (0...16).contains(replicas) else {
                throw SessionStoreError(.configurationError, "SESSION_REPLICA_WAIT=\"\(text.prefix(40))\" must be a number of replicas from 0 to 16")
            }
            replicaWait = replicas
        }

        let primary = try SQLiteSessionStore(path: path, policy: policy, configuration: .init(durability: durability))
        var store: any SessionStoreAdministration & SessionMessageLog = primary
        var services: [any Service] = []
        var summary = "SQLite session store at \(path) (durability \(durability.rawValue))"

        if let replica {
            let client = RedisClient(configuration: replica)
            let name = variables["SESSION_REPLICA_NAME"] ?? ProcessInfo.processInfo.hostName
            var replication = RedisReplicator.Configuration(name: name, keys: RedisSessionKeys(prefix: prefix))
            if let deadline = shutdownDeadline { replication.shutdownDeadline = deadline }
            replication.waitForReplicas = replicaWait
            let replicated = ReplicatedSessionStore(
                primary: primary,
                client: client,
                configuration: .init(replication: replication, readThrough: readThrough, sharing: sharing)
            )
            store = replicated
            services.append(contentsOf: replicated.services)
            summary += ", replicated to \(client.configuration) as \"\(name)\""
            if sharing != nil { summary += ", sharing sessions with the other hosts there" }
        }
        if cached {
            store = try CachedSessionStore(wrapping: store)
            summary += ", with a memory cache"
        }
        let first: [any Service] = [SessionStoreCloser(store: store), SessionSweeper(store: store, configuration: .init(interval: sweepInterval))]
        services.insert(contentsOf: first, at: 0)
        return Setup(store: store, services: services, summary: summary)
    }

    private static func makePolicy(_ variables: [String: String], clock: any SessionClock) throws(SessionStoreError) -> SessionPolicy {
        let idle = try variables["SESSION_TTL"].map { text throws(SessionStoreError) in try DurationText.parse(text, name: "SESSION_TTL") }
        let maxAge = try variables["SESSION_MAX_AGE"].map { text throws(SessionStoreError) in try DurationText.parse(text, name: "SESSION_MAX_AGE") }
        var policy = SessionPolicy(clock: clock)
        switch (idle, maxAge) {
        case (let idle?, let maxAge?): policy.expiration = .hybrid(idle: idle, absolute: maxAge)
        case (let idle?, nil): policy.expiration = .idle(idle)
        case (nil, let maxAge?): policy.expiration = .absolute(maxAge)
        case (nil, nil): break
        }
        do {
            try policy.expiration.validate()
        } catch {
            throw SessionStoreError(.configurationError, "SESSION_TTL/SESSION_MAX_AGE: \(error.message)")
        }
        if let keys = variables["SESSION_ENCRYPTION_KEYS"] {
            do {
                policy.encryption = try SessionEncryption(parsing: keys)
            } catch {
                throw SessionStoreError(.configurationError, "SESSION_ENCRYPTION_KEYS: \(error.message)")
            }
        }
        policy.maxSessionsPerUser = try variables["SESSION_MAX_PER_USER"].map { text throws(SessionStoreError) in
            try positive(text, name: "SESSION_MAX_PER_USER")
        }
        switch variables["SESSION_EVICT"]?.lowercased() {
        case nil, "oldest": policy.evictionOrder = .oldestCreated
        case "idle": policy.evictionOrder = .leastRecentlySeen
        case let other?:
            throw SessionStoreError(.configurationError, "SESSION_EVICT=\"\(other)\" must be oldest or idle")
        }
        if let text = variables["SESSION_MAX_MESSAGES"] {
            policy.maxMessagesPerSession = try positive(text, name: "SESSION_MAX_MESSAGES")
        }
        return policy
    }

    private static func makeSharing(_ variables: [String: String]) throws(SessionStoreError) -> ReplicatedSessionStore.Sharing {
        var sharing = ReplicatedSessionStore.Sharing()
        if let text = variables["SESSION_SYNC_STALE_AFTER"] {
            sharing.staleAfter = try DurationText.parse(text, name: "SESSION_SYNC_STALE_AFTER")
        }
        switch variables["SESSION_SYNC_WHEN_STALE"]?.lowercased() {
        case nil, "serve": sharing.whenStale = .serve
        case "refuse": sharing.whenStale = .refuse
        case let other?:
            throw SessionStoreError(.configurationError, "SESSION_SYNC_WHEN_STALE=\"\(other.prefix(40))\" must be serve or refuse")
        }
        if let text = variables["SESSION_SYNC_STREAM_LENGTH"] {
            sharing.streamLength = try positive(text, name: "SESSION_SYNC_STREAM_LENGTH")
        }
        if let text = variables["SESSION_TOMBSTONE_RETENTION"] {
            sharing.tombstoneRetention = try DurationText.parse(text, name: "SESSION_TOMBSTONE_RETENTION")
        }
        return sharing
    }

    private static func positive(_ text: String, name: String) throws(SessionStoreError) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0, value <= 1_000_000 else {
            throw SessionStoreError(.configurationError, "\(name)=\"\(text.prefix(40))\" must be a whole number from 1 to 1000000")
        }
        return value
    }

    private static func configuration(_ url: String, variable: String) throws(SessionStoreError) -> RedisConfiguration {
        do {
            return try RedisConfiguration(url: url)
        } catch {
            throw SessionStoreError(.configurationError, "\(variable): \(error.message)")
        }
    }

    private static func flag(_ variables: [String: String], _ name: String, default fallback: Bool = false) throws(SessionStoreError) -> Bool {
        guard let text = variables[name] else { return fallback }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw SessionStoreError(.configurationError, "\(name)=\"\(text)\" must be true or false")
        }
    }
}

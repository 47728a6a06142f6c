import Foundation
public import Sessions
public import SQLiteSessions

/// What RedisSessions adds to `SessionStoreFactory`:
/// `SessionStoreFactory.make(plugins: [.redis])`.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `USE_REDIS` | `true`: keep sessions in Redis only, at `REDIS_URL` | `false` |
/// | `REDIS_URL` | `redis://[user:password@]host:port/db` for `USE_REDIS` | |
/// | `SESSION_REPLICATE_TO` | `redis://…`: SQLite, mirrored to this Redis | |
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
public struct RedisFactoryPlugin: SessionStoreFactoryPlugin {
    /// Creates the plug-in; `.redis` in `SessionStoreFactory.make(plugins:)` is the same.
    public init() {}

    public func plan(_ environment: SessionStoreFactory.Environment) throws(SessionStoreError) -> SessionStoreFactory.Plan? {
        let variables = environment.variables
        let prefix = variables["SESSION_KEY_PREFIX"] ?? ""
        let replicateTo = variables["SESSION_REPLICATE_TO"]
        if try environment.flag("USE_REDIS") {
            guard replicateTo == nil else {
                throw SessionStoreError(
                    .configurationError,
                    "USE_REDIS=true and SESSION_REPLICATE_TO are both set; choose Redis only (USE_REDIS) or SQLite replicated to Redis (SESSION_REPLICATE_TO)"
                )
            }
            guard let url = variables["REDIS_URL"] else {
                throw SessionStoreError(.configurationError, "USE_REDIS=true needs REDIS_URL=redis://host:port/db")
            }
            let client = try Self.configuration(url, variable: "REDIS_URL")
            let policy = environment.policy
            return .replace {
                let client = RedisClient(configuration: client)
                let store = RedisSessionStore(client: client, policy: policy, keys: RedisSessionKeys(prefix: prefix))
                return SessionStoreFactory.Part(store: store, services: [], summary: "Redis session store at \(client.configuration)")
            }
        }
        let sync = try environment.flag("SESSION_SYNC")
        guard let replicateTo else {
            if sync {
                throw SessionStoreError(.configurationError, "SESSION_SYNC=true needs SESSION_REPLICATE_TO=redis://host:port: hosts share sessions through that Redis")
            }
            return nil
        }
        let replica = try Self.configuration(replicateTo, variable: "SESSION_REPLICATE_TO")
        let readThrough = variables["SESSION_READ_THROUGH"] == nil ? nil : try environment.flag("SESSION_READ_THROUGH")
        let sharing = sync ? try Self.sharing(environment) : nil
        let name = variables["SESSION_REPLICA_NAME"] ?? ProcessInfo.processInfo.hostName
        var replication = RedisReplicator.Configuration(name: name, keys: RedisSessionKeys(prefix: prefix))
        if let deadline = try environment.duration("SESSION_REPLICA_SHUTDOWN_DEADLINE") { replication.shutdownDeadline = deadline }
        if let text = variables["SESSION_REPLICA_WAIT"] {
            guard let replicas = Int(text.trimmingCharacters(in: .whitespaces)), (0...16).contains(replicas) else {
                throw SessionStoreError(.configurationError, "SESSION_REPLICA_WAIT=\"\(text.prefix(40))\" must be a number of replicas from 0 to 16")
            }
            replication.waitForReplicas = replicas
        }
        return .wrap { [replication] primary in
            let client = RedisClient(configuration: replica)
            let replicated = ReplicatedSessionStore(
                primary: primary,
                client: client,
                configuration: .init(replication: replication, readThrough: readThrough, sharing: sharing)
            )
            let summary = "replicated to \(client.configuration) as \"\(replication.name)\""
                + (sharing == nil ? "" : ", sharing sessions with the other hosts there")
            return SessionStoreFactory.Part(store: replicated, services: replicated.services, summary: summary)
        }
    }

    private static func sharing(_ environment: SessionStoreFactory.Environment) throws(SessionStoreError) -> ReplicatedSessionStore.Sharing {
        var sharing = ReplicatedSessionStore.Sharing()
        if let staleAfter = try environment.duration("SESSION_SYNC_STALE_AFTER") { sharing.staleAfter = staleAfter }
        switch environment.variables["SESSION_SYNC_WHEN_STALE"]?.lowercased() {
        case nil, "serve": sharing.whenStale = .serve
        case "refuse": sharing.whenStale = .refuse
        case let other?:
            throw SessionStoreError(.configurationError, "SESSION_SYNC_WHEN_STALE=\"\(other.prefix(40))\" must be serve or refuse")
        }
        if let length = try environment.positive("SESSION_SYNC_STREAM_LENGTH") { sharing.streamLength = length }
        if let retention = try environment.duration("SESSION_TOMBSTONE_RETENTION") { sharing.tombstoneRetention = retention }
        return sharing
    }

    private static func configuration(_ url: String, variable: String) throws(SessionStoreError) -> RedisConfiguration {
        do {
            return try RedisConfiguration(url: url)
        } catch {
            throw SessionStoreError(.configurationError, "\(variable): \(error.message)")
        }
    }
}

extension SessionStoreFactoryPlugin where Self == RedisFactoryPlugin {
    /// Redis-only stores (`USE_REDIS`) and SQLite replicated to Redis (`SESSION_REPLICATE_TO`,
    /// `SESSION_SYNC`): `SessionStoreFactory.make(plugins: [.redis])`.
    public static var redis: RedisFactoryPlugin { RedisFactoryPlugin() }
}

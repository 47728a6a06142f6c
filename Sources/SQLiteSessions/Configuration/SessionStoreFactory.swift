public import Foundation
public import ServiceLifecycle
public import Sessions

/// Builds the store a service's environment asks for, as twelve-factor services expect.
///
/// ```swift
/// let setup = try SessionStoreFactory.make()                   // SQLite (and a cache) only
/// let setup = try SessionStoreFactory.make(plugins: [.redis])  // with RedisSessions linked
/// ```
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `SESSION_DB` | SQLite file | `./sessions.sqlite` |
/// | `SESSION_TTL` | idle timeout: a session ends this long after its last use | 30m |
/// | `SESSION_MAX_AGE` | absolute lifetime from creation | 24h |
/// | `SESSION_DURABILITY` | `full` or `normal` | `full` |
/// | `SESSION_CACHE` | `false` turns off the memory cache in front of SQLite | `true` |
/// | `SESSION_SWEEP_INTERVAL` | time between purges of expired sessions; 0 turns sweeping off | 60s |
/// | `SESSION_ENCRYPTION_KEYS` | `id:base64key,…`: seal session data and messages with AES-256-GCM; the first key is current (`sessionctl keygen` makes one) | off |
/// | `SESSION_MAX_PER_USER` | the most live sessions per user; one more evicts one | no limit |
/// | `SESSION_EVICT` | which session gives way: `oldest` (created first) or `idle` (used least recently) | `oldest` |
/// | `SESSION_MAX_MESSAGES` | messages kept per session's log | 1000 |
///
/// Plug-ins add what their modules provide: `.redis` (`RedisSessions`) reads `USE_REDIS`,
/// `REDIS_URL`, `SESSION_REPLICATE_TO`, `SESSION_SYNC` and the variables that go with them;
/// `.postgres` (`PostgresSessions`) reads `SESSION_POSTGRES_URL`.
/// Every value is checked before anything is opened; a bad one is explained in a
/// `SessionStoreError` with `SessionStoreError.Code.configurationError`, and
/// so is a variable whose plug-in was not passed.
public enum SessionStoreFactory {
    /// A store and the background services it needs; run `services` in the app's `ServiceGroup`.
    public struct Setup: Sendable {
        /// The store to use, with its administration and message log.
        public let store: any SessionStoreAdministration & SessionMessageLog
        /// The services the store needs, in the order a `ServiceGroup` wants them: a
        /// `SessionStoreCloser` first (shut down last, so it closes the store after the
        /// others stopped), then the sweeper, then a plug-in's (the replicator). Put the web
        /// server after them.
        public let services: [any Service]
        /// One line for the startup log: which store, where.
        public let summary: String
    }

    /// A store a plug-in built, with the services it needs and a phrase for the summary.
    public struct Part: Sendable {
        /// The store the plug-in built, which the setup serves from.
        public let store: any SessionStoreAdministration & SessionMessageLog
        /// Its background services; the setup lists them after the store closer and the sweeper.
        public let services: [any Service]
        /// A phrase for the startup summary: the whole line for a replacing store, appended to the
        /// SQLite line for a wrapping one.
        public let summary: String

        /// Creates a part; each parameter sets the property of the same name.
        public init(store: any SessionStoreAdministration & SessionMessageLog, services: [any Service], summary: String) {
            self.store = store
            self.services = services
            self.summary = summary
        }
    }

    /// What a plug-in does with the environment, decided before anything is opened.
    public enum Plan: Sendable {
        /// A store instead of the SQLite file (Redis only).
        case replace(@Sendable () throws -> Part)
        /// A store around the SQLite file (replicated to Redis), built once the file is open.
        case wrap(@Sendable (SQLiteSessionStore) throws -> Part)
    }

    /// The environment as plug-ins read it: the variables that are set, and what the factory
    /// made of the shared ones.
    public struct Environment: Sendable {
        /// The variables with a value.
        public let variables: [String: String]
        /// The policy the variables describe.
        public let policy: SessionPolicy
        /// How often expired sessions are swept.
        public let sweepInterval: Duration

        /// A `true`/`false` variable (`1`, `yes`, `on` and their opposites count too).
        ///
        /// - Throws: `SessionStoreError.Code.configurationError` for any other value.
        public func flag(_ name: String, default fallback: Bool = false) throws(SessionStoreError) -> Bool {
            guard let text = variables[name] else { return fallback }
            switch text.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw SessionStoreError(.configurationError, "\(name)=\"\(text.prefix(40))\" must be true or false")
            }
        }

        /// A duration variable (``DurationText``), nil when unset.
        public func duration(_ name: String) throws(SessionStoreError) -> Duration? {
            try variables[name].map { text throws(SessionStoreError) in try DurationText.parse(text, name: name) }
        }

        /// A whole number from 1 to 1,000,000, nil when unset.
        public func positive(_ name: String) throws(SessionStoreError) -> Int? {
            guard let text = variables[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0, value <= 1_000_000 else {
                throw SessionStoreError(.configurationError, "\(name)=\"\(text.prefix(40))\" must be a whole number from 1 to 1000000")
            }
            return value
        }
    }

    /// Variables that only a plug-in reads, and the plug-in that does, so an app that sets one
    /// without passing the plug-in is told what to add instead of being ignored.
    static let pluginVariables = [
        "USE_REDIS": ".redis (RedisSessions)",
        "SESSION_REPLICATE_TO": ".redis (RedisSessions)",
        "SESSION_SYNC": ".redis (RedisSessions)",
        "SESSION_POSTGRES_URL": ".postgres (PostgresSessions, with the Postgres trait)",
    ]

    /// Reads the environment and builds the store it describes.
    ///
    /// - Parameters:
    ///   - environment: The variables; the process environment by default.
    ///   - clock: Where time comes from; the system clock by default.
    ///   - plugins: What other modules of this package add (`.redis`).
    public static func make(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        clock: any SessionClock = SystemSessionClock(),
        plugins: [any SessionStoreFactoryPlugin] = []
    ) throws -> Setup {
        let variables = environment.filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }
        let context = Environment(
            variables: variables,
            policy: try makePolicy(variables, clock: clock),
            sweepInterval: try Environment(variables: variables, policy: SessionPolicy(), sweepInterval: .zero)
                .duration("SESSION_SWEEP_INTERVAL") ?? .seconds(60)
        )
        // Every value is checked before anything is opened.
        var plan: Plan?
        for plugin in plugins {
            if let planned = try plugin.plan(context) {
                plan = planned
                break
            }
        }
        if plan == nil {
            for (name, plugin) in pluginVariables.sorted(by: { $0.key < $1.key }) where variables[name] != nil && (try? context.flag(name)) != false {
                let short = plugin.prefix { $0 != " " }
                throw SessionStoreError(.configurationError, "\(name) needs the plug-in \(plugin): SessionStoreFactory.make(plugins: [\(short)])")
            }
        }
        let durability: SQLiteSessionStore.Durability
        switch variables["SESSION_DURABILITY"]?.lowercased() ?? "full" {
        case "full": durability = .full
        case "normal": durability = .normal
        case let other:
            throw SessionStoreError(.configurationError, "SESSION_DURABILITY=\"\(other.prefix(40))\" must be full or normal")
        }
        let cached = try context.flag("SESSION_CACHE", default: true)

        var store: any SessionStoreAdministration & SessionMessageLog
        var services: [any Service] = []
        var summary: String
        if case .replace(let build) = plan {
            let part = try build()
            (store, services, summary) = (part.store, part.services, part.summary)
        } else {
            let path = variables["SESSION_DB"] ?? "sessions.sqlite"
            let primary = try SQLiteSessionStore(path: path, policy: context.policy, configuration: .init(durability: durability))
            store = primary
            summary = "SQLite session store at \(path) (durability \(durability.rawValue))"
            if case .wrap(let build) = plan {
                let part = try build(primary)
                store = part.store
                services = part.services
                summary += ", " + part.summary
            }
            if cached {
                store = try CachedSessionStore(wrapping: store)
                summary += ", with a memory cache"
            }
        }
        let first: [any Service] = [SessionStoreCloser(store: store), SessionSweeper(store: store, configuration: .init(interval: context.sweepInterval))]
        return Setup(store: store, services: first + services, summary: summary)
    }

    private static func makePolicy(_ variables: [String: String], clock: any SessionClock) throws(SessionStoreError) -> SessionPolicy {
        let environment = Environment(variables: variables, policy: SessionPolicy(), sweepInterval: .zero)
        var policy = SessionPolicy(clock: clock)
        switch (try environment.duration("SESSION_TTL"), try environment.duration("SESSION_MAX_AGE")) {
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
        policy.maxSessionsPerUser = try environment.positive("SESSION_MAX_PER_USER")
        switch variables["SESSION_EVICT"]?.lowercased() {
        case nil, "oldest": policy.evictionOrder = .oldestCreated
        case "idle": policy.evictionOrder = .leastRecentlySeen
        case let other?:
            throw SessionStoreError(.configurationError, "SESSION_EVICT=\"\(other.prefix(40))\" must be oldest or idle")
        }
        if let count = try environment.positive("SESSION_MAX_MESSAGES") {
            policy.maxMessagesPerSession = count
        }
        return policy
    }
}

/// What a module adds to ``SessionStoreFactory``: RedisSessions' `.redis` builds Redis-only and
/// replicated stores from the variables it reads.
public protocol SessionStoreFactoryPlugin: Sendable {
    /// Checks the variables this plug-in reads and says what it will build, before anything is
    /// opened; nil when the environment asks nothing of it.
    ///
    /// - Throws: `SessionStoreError.Code.configurationError` for a bad value.
    func plan(_ environment: SessionStoreFactory.Environment) throws(SessionStoreError) -> SessionStoreFactory.Plan?
}

public import Foundation
public import Sessions
import RedisSessions
import SQLiteSessions
public import Testing

/// Every store the behaviour suite runs against.
public enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case cachedMemory
    case cachedSQLite
    case redis
    case replicated
    case postgres
    case cachedPostgres

    public var testDescription: String { rawValue }

    /// Whether the store needs a Redis server.
    public var needsRedis: Bool { self == .redis || self == .replicated }

    /// Whether the store needs a PostgreSQL server.
    public var needsPostgres: Bool { self == .postgres || self == .cachedPostgres }

    /// The kinds this run can test: the Redis ones only when a server is configured, the
    /// PostgreSQL ones only when the Postgres trait is on and a server is configured.
    public static let available: [StoreKind] = {
        var kinds = allCases
        if RedisTestServer.url == nil && !RedisTestServer.required {
            print("Redis stores are not tested: REDIS_URL is not set (tools/test starts a private redis-server and sets it)")
            kinds.removeAll { $0.needsRedis }
        }
        if !PostgresTestServer.available {
            kinds.removeAll { $0.needsPostgres }
        }
        return kinds
    }()
}

/// A store kind with encryption at rest on or off: the behaviour suite runs over every pair.
public struct StoreVariant: Sendable, CustomTestStringConvertible {
    public let kind: StoreKind
    public let encrypted: Bool

    public init(_ kind: StoreKind, encrypted: Bool) {
        self.kind = kind
        self.encrypted = encrypted
    }

    public var testDescription: String { encrypted ? "\(kind.rawValue)+encrypted" : kind.rawValue }

    /// Every available kind, plain and encrypted.
    public static let all: [StoreVariant] = StoreKind.available.flatMap { [StoreVariant($0, encrypted: false), StoreVariant($0, encrypted: true)] }

    /// The variants whose store streams events (every kind but the Redis-only store).
    public static let withEvents = all.filter { $0.kind != .redis && !$0.kind.needsPostgres }

    /// Two fixed test keys; "t2" is current, "t1" an older key still accepted.
    public static let testEncryption: SessionEncryption = {
        // Fixed keys: the tests look for what they seal, so they must be reproducible.
        try! SessionEncryption(parsing: "t2:\(Data(repeating: 0x22, count: 32).base64EncodedString()),t1:\(Data(repeating: 0x11, count: 32).base64EncodedString())")
    }()
}

/// A fresh store of one kind, with a clock the test moves by hand and its own temporary files.
public struct StoreHarness: Sendable {
    public let kind: StoreKind
    public let store: any SessionStoreAdministration & SessionMessageLog
    public let clock: ManualSessionClock
    public let directory: URL?
    /// Where the clock started.
    public let start: SessionInstant
    /// The SQLite file, for stores that keep one.
    public var databasePath: String? {
        directory?.appendingPathComponent("sessions.sqlite").path
    }
    /// Redis keys of this test, removed at tear-down.
    public let redisPrefix: String?
    private let background: Task<Void, any Error>?
    /// Removes what the store left outside its directory (a PostgreSQL schema).
    private let cleanup: (@Sendable () async throws -> Void)?

    /// A fixed start for stores that keep no wall-clock deadlines outside the process.
    public static let fixedStart = SessionInstant(millisecondsSince1970: 1_767_225_600_000)

    private init(
        kind: StoreKind,
        store: any SessionStoreAdministration & SessionMessageLog,
        clock: ManualSessionClock,
        directory: URL?,
        redisPrefix: String? = nil,
        background: Task<Void, any Error>? = nil,
        cleanup: (@Sendable () async throws -> Void)? = nil
    ) {
        self.cleanup = cleanup
        self.kind = kind
        self.store = store
        self.clock = clock
        self.directory = directory
        self.start = clock.now
        self.redisPrefix = redisPrefix
        self.background = background
    }

    public static func make(_ variant: StoreVariant, policy adjust: (inout SessionPolicy) -> Void = { _ in }) throws -> StoreHarness {
        try make(variant.kind) { policy in
            if variant.encrypted { policy.encryption = StoreVariant.testEncryption }
            adjust(&policy)
        }
    }

    public static func make(_ kind: StoreKind, policy adjust: (inout SessionPolicy) -> Void = { _ in }) throws -> StoreHarness {
        // Redis also expires keys by its own clock (PXAT). Starting the test clock a day ahead of
        // real time keeps every deadline a test sets in Redis's future, however slowly it runs.
        let start = kind.needsRedis ? SystemSessionClock().now + .seconds(86_400) : fixedStart
        let clock = ManualSessionClock(start)
        var policy = SessionPolicy(clock: clock)
        adjust(&policy)
        switch kind {
        case .memory:
            return StoreHarness(kind: kind, store: InMemorySessionStore(policy: policy), clock: clock, directory: nil)
        case .sqlite:
            let directory = try makeTemporaryDirectory()
            return StoreHarness(kind: kind, store: try sqliteStore(in: directory, policy: policy), clock: clock, directory: directory)
        case .cachedMemory:
            let store = try CachedSessionStore(wrapping: InMemorySessionStore(policy: policy))
            return StoreHarness(kind: kind, store: store, clock: clock, directory: nil)
        case .cachedSQLite:
            let directory = try makeTemporaryDirectory()
            let store = try CachedSessionStore(wrapping: try sqliteStore(in: directory, policy: policy))
            return StoreHarness(kind: kind, store: store, clock: clock, directory: directory)
        case .redis:
            let prefix = RedisTestServer.uniquePrefix()
            let store = RedisSessionStore(client: try RedisTestServer.client(), policy: policy, keys: RedisSessionKeys(prefix: prefix))
            return StoreHarness(kind: kind, store: store, clock: clock, directory: nil, redisPrefix: prefix)
        case .replicated:
            let directory = try makeTemporaryDirectory()
            let prefix = RedisTestServer.uniquePrefix()
            let store = ReplicatedSessionStore(
                primary: try sqliteStore(in: directory, policy: policy),
                client: try RedisTestServer.client(),
                configuration: .init(name: "test", keyPrefix: prefix)
            )
            let replicator = store.replicator
            let background = Task { try await replicator.run() }
            return StoreHarness(kind: kind, store: store, clock: clock, directory: directory, redisPrefix: prefix, background: background)
        case .postgres, .cachedPostgres:
            #if Postgres
            let (postgres, cleanup) = try PostgresTestServer.store(policy: policy)
            let store: any SessionStoreAdministration & SessionMessageLog = kind == .postgres ? postgres : try CachedSessionStore(wrapping: postgres)
            return StoreHarness(kind: kind, store: store, clock: clock, directory: nil, cleanup: cleanup)
            #else
            throw SessionStoreError(.configurationError, "PostgreSQL stores need the Postgres trait")
            #endif
        }
    }

    private static func sqliteStore(in directory: URL, policy: SessionPolicy) throws -> SQLiteSessionStore {
        try SQLiteSessionStore(
            path: directory.appendingPathComponent("sessions.sqlite").path,
            policy: policy,
            configuration: .init(durability: .normal)
        )
    }

    public func tearDown() async throws {
        if let background {
            background.cancel()
            _ = await background.result
        }
        if let cleanup { try await cleanup() }
        try await store.close()
        if let directory { try? FileManager.default.removeItem(at: directory) }
        if let redisPrefix { try await RedisTestServer.deleteKeys(prefix: redisPrefix) }
    }
}

/// Runs `body` with a fresh store and always tears it down.
public func withStore(
    _ kind: StoreKind,
    policy: (inout SessionPolicy) -> Void = { _ in },
    _ body: (StoreHarness) async throws -> Void
) async throws {
    try await withStore(StoreVariant(kind, encrypted: false), policy: policy, body)
}

/// Runs `body` with a fresh store of the variant and always tears it down.
public func withStore(
    _ variant: StoreVariant,
    policy: (inout SessionPolicy) -> Void = { _ in },
    _ body: (StoreHarness) async throws -> Void
) async throws {
    let harness = try StoreHarness.make(variant, policy: policy)
    do {
        try await body(harness)
    } catch {
        try? await harness.tearDown()
        throw error
    }
    try await harness.tearDown()
}

public func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Expects `body` to throw a ``SessionStoreError`` with `code`.
public func expectError<T>(
    _ code: SessionStoreError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    do {
        let value = try await body()
        Issue.record("expected a \(code) error, got \(value)", sourceLocation: sourceLocation)
    } catch let error as SessionStoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a SessionStoreError, got \(error)", sourceLocation: sourceLocation)
    }
}

extension Data {
    public init(_ text: String) { self = Data(text.utf8) }
}

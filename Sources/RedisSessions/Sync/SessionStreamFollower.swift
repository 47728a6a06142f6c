public import CoreMetrics
import Foundation
public import Logging
public import ServiceLifecycle
import Sessions
public import SQLiteSessions
import Synchronization

/// Follows the change stream that hosts sharing sessions through one Redis publish to, and
/// applies what other hosts changed to this host's SQLite file, so any host serves any session
/// from its own file and memory.
///
/// - It reads with a blocking `XREAD` on a connection of its own, from the position stored in
///   the file (`stream_cursors`), in the same transaction as the changes it applies: a host
///   killed at any moment resumes where its file says, and applying an entry twice is harmless.
/// - Entries are numbered by one counter in Redis. A number that skips ahead means the stream
///   was trimmed past this host (it was away longer than the stream is long); a number that goes
///   back means Redis lost data. Either way the host copies Redis's sessions, tombstones and
///   revocation points again (``resync()``), which never revives a session it knows to be dead.
/// - A removal is handed to the cache in front (`SessionChangeHint.revoked(_:)`)
///   before it is written, so a logout elsewhere is refused here within the time the stream takes.
///
/// ``ReplicatedSessionStore`` creates and runs one when sharing is configured; run it in the
/// app's `ServiceGroup` (the factory's `services` include it).
public final class SessionStreamFollower: Service, Sendable {
    /// How to follow the stream.
    public struct Configuration: Sendable {
        /// This host's name: its cursor in the file, its entry in the host registry, and how
        /// it recognises its own entries.
        public var name: String
        /// The Redis key layout.
        public var keys: RedisSessionKeys
        /// How long one `XREAD` waits for new entries.
        public var block: Duration
        /// Entries read and applied per transaction.
        public var batchSize: Int
        /// How long without an answer from Redis before this host counts as cut off (stale).
        public var staleAfter: Duration
        /// First wait after a failure; doubles up to ``maxRetryDelay``.
        public var retryDelay: Duration
        /// Longest wait between attempts while Redis is down.
        public var maxRetryDelay: Duration
        /// Where failures and resyncs are reported.
        public var logger: Logger
        /// Where figures go (`sessions_sync_*`, dimension `replica`); nil for `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?

        /// Creates a configuration; each parameter sets the property of the same name.
        public init(
            name: String,
            keys: RedisSessionKeys = RedisSessionKeys(),
            block: Duration = .seconds(1),
            batchSize: Int = 500,
            staleAfter: Duration = .seconds(30),
            retryDelay: Duration = .milliseconds(100),
            maxRetryDelay: Duration = .seconds(2),
            logger: Logger = Logger(label: "sessions.sync"),
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.name = name
            self.keys = keys
            self.block = block
            self.batchSize = batchSize
            self.staleAfter = staleAfter
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
            self.logger = logger
            self.metricsFactory = metricsFactory
        }
    }

    /// Where this host stands in the stream.
    public struct Status: Sendable, Hashable {
        /// The last entry applied: its Redis id (`<ms>-<n>`) and sequence number.
        public var position: String?
        /// The sequence number of the last entry applied.
        public var sequence: Int64
        /// How far behind the newest entry this host was when it last read: the time between
        /// that entry's creation in Redis and now, as far as the entries read tell.
        public var lag: Duration?
        /// Other hosts' entries applied since start.
        public var applied: Int
        /// Full copies from Redis (after a gap, or at the first start).
        public var resyncs: Int
        /// Writes of this host that lost to a concurrent write of another host while the two
        /// could not reach each other.
        public var overwritten: Int
        /// Copies of sessions refused because this host knew their token to be dead.
        public var refused: Int
        /// Whether the last read reached Redis.
        public var connected: Bool
        /// Whether Redis has not answered for longer than ``Configuration/staleAfter``.
        public var stale: Bool
        /// How long ago Redis last answered.
        public var sinceContact: Duration?
        /// The last failure, cleared by the next success.
        public var lastError: String?
        /// This host's clock tag (the low bits of its selectors), as the registry in Redis gave it.
        public var hostTag: Int64
    }

    private struct State {
        var position: StreamPosition?
        var lastEntryMilliseconds: Int64?
        var lastReadAt: SessionInstant?
        var applied = 0
        var resyncs = 0
        var overwritten = 0
        var refused = 0
        var lastError: String?
        var registered = false
        var tagLoaded = false
        var lastPublished: ContinuousClock.Instant?
        /// When the position was last written to the file.
        var lastStored: ContinuousClock.Instant?
    }

    private struct Metrics: Sendable {
        let applied: Counter
        let lag: CoreMetrics.Timer
        let resyncs: Counter
        let overwritten: Counter
        let refused: Counter
        let stale: Gauge

        init(replica: String, factory: (any MetricsFactory)?) {
            let factory = factory ?? MetricsSystem.factory
            let dimensions = [("replica", replica)]
            applied = Counter(label: "sessions_sync_applied_total", dimensions: dimensions, factory: factory)
            lag = CoreMetrics.Timer(label: "sessions_sync_lag_seconds", dimensions: dimensions, factory: factory)
            resyncs = Counter(label: "sessions_sync_resyncs_total", dimensions: dimensions, factory: factory)
            overwritten = Counter(label: "sessions_sync_overwritten_total", dimensions: dimensions, factory: factory)
            refused = Counter(label: "sessions_sync_refused_total", dimensions: dimensions, factory: factory)
            stale = Gauge(label: "sessions_sync_stale", dimensions: dimensions, factory: factory)
        }
    }

    /// The local store changes are applied to.
    public let primary: SQLiteSessionStore
    /// The connection the blocking reads use (one of its own).
    public let client: RedisClient
    /// How the stream is followed.
    public let configuration: Configuration
    private let state = Mutex(State())
    private let started = ContinuousClock.now
    private let metrics: Metrics
    let link: SyncLink
    let hints: SessionChangeListeners
    /// Sends a tombstone or revocation point back to Redis when Redis offered a copy of a session
    /// this host knows to be dead (Redis lost it).
    let republish: @Sendable ([SyncEntry]) async throws -> Void

    init(
        primary: SQLiteSessionStore,
        client: RedisClient,
        configuration: Configuration,
        link: SyncLink,
        hints: SessionChangeListeners,
        republish: @escaping @Sendable ([SyncEntry]) async throws -> Void
    ) {
        self.primary = primary
        self.client = client
        self.configuration = configuration
        self.link = link
        self.hints = hints
        self.republish = republish
        self.metrics = Metrics(replica: configuration.name, factory: configuration.metricsFactory)
    }

    private var cursorName: String { "stream:" + configuration.name }

    /// Where this host stands now.
    public var status: Status {
        let now = SystemSessionClock().now
        let contact = link.lastContact
        let sinceContact = contact.map { ContinuousClock.now - $0 }
        let stale = isStale
        return state.withLock { state in
            Status(
                position: state.position?.id,
                sequence: state.position?.sequence ?? 0,
                lag: state.lastEntryMilliseconds.map { .milliseconds(max(0, (state.lastReadAt ?? now).millisecondsSince1970 - $0)) },
                applied: state.applied,
                resyncs: state.resyncs,
                overwritten: state.overwritten,
                refused: state.refused,
                connected: link.isUp,
                stale: stale,
                sinceContact: sinceContact,
                lastError: state.lastError,
                hostTag: primary.clock.hostTag
            )
        }
    }

    /// Whether Redis has not answered for longer than ``Configuration/staleAfter`` (counting from
    /// the start while it never has).
    public var isStale: Bool {
        let reference = link.lastContact ?? started
        return ContinuousClock.now - reference > configuration.staleAfter
    }

    /// Follows the stream until cancelled or until the service group shuts down. Failures are
    /// logged and retried with backoff; they never end the service.
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.follow() }
                group.addTask { await self.watchStaleness() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func follow() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                _ = try await followOnce(block: configuration.block)
                failures = 0
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                failures += 1
                record(error)
                let delay = min(configuration.maxRetryDelay, configuration.retryDelay * (1 << min(failures - 1, 20)))
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Notices when this host becomes cut off, or joins again, even while a read hangs on a
    /// frozen server: the cache in front forgets everything then, so a store that refuses
    /// other hosts' sessions while cut off is asked again.
    private func watchStaleness() async {
        var wasStale = false
        let tick = min(.milliseconds(250), configuration.staleAfter / 4)
        while !Task.isCancelled {
            let stale = isStale
            if stale != wasStale {
                wasStale = stale
                metrics.stale.record(stale ? 1 : 0)
                configuration.logger.log(
                    level: stale ? .warning : .notice,
                    stale ? "cut off from the shared change stream for longer than the stale bound" : "the shared change stream answers again",
                    metadata: ["replica": "\(configuration.name)", "stale_after": "\(configuration.staleAfter)"]
                )
                hints.notify(.reset)
            }
            do { try await Task.sleep(for: tick) } catch { return }
        }
    }

    /// Applies every entry the stream holds now; returns when this host has caught up.
    ///
    /// - Throws: The first failure; what was applied before it stays applied.
    public func catchUp() async throws {
        while try await followOnce(block: nil) > 0 {}
    }

    /// Reads one batch, waiting up to `block` for it (nil: not at all), and applies it.
    ///
    /// - Returns: The number of entries read.
    @discardableResult
    func followOnce(block: Duration?) async throws -> Int {
        try await registerIfNeeded()
        guard let position = try await currentPosition() else { return 1 }
        var command: [RedisCommand.Argument] = ["COUNT", .integer(Int64(configuration.batchSize))]
        if let block { command += ["BLOCK", .integer(max(1, block.wholeMilliseconds))] }
        command += ["STREAMS", .string(configuration.keys.changeStream), .string(position.id)]
        var commands = [RedisCommand("XREAD", command)]
        let publishes = shouldPublishPosition()
        if publishes {
            let text = "\(position.id) \(position.sequence) \(SystemSessionClock().now.millisecondsSince1970)"
            commands.insert(RedisCommand("HSET", .string(configuration.keys.hostPositions), .string(configuration.name), .string(text)), at: 0)
        }
        let replies = try await client.pipeline(commands)
        let reply = replies[replies.count - 1]
        if case .error(let message) = reply {
            throw SessionStoreError(.protocolError, "Redis refused to read the change stream: \(message)", underlying: .init(code: nil, message: message))
        }
        link.succeeded()
        let now = SystemSessionClock().now
        state.withLock {
            $0.lastReadAt = now
            $0.lastError = nil
        }
        let entries = try Self.entries(in: reply)
        guard let first = entries.first, let last = entries.last else { return 0 }
        if first.sequence != position.sequence + 1 || zip(entries, entries.dropFirst()).contains(where: { $1.sequence != $0.sequence + 1 }) {
            configuration.logger.notice(
                first.sequence <= position.sequence
                    ? "the change stream went back (Redis lost data); copying every session from Redis again"
                    : "the change stream was trimmed past this host's position; copying every session from Redis again",
                metadata: ["replica": "\(configuration.name)", "position": "\(position)", "next": "\(first.id) (#\(first.sequence))"]
            )
            try await resync()
            return entries.count
        }
        try await apply(entries, through: StreamPosition(id: last.id, sequence: last.sequence))
        return entries.count
    }

    private func apply(_ entries: [StreamEntry], through end: StreamPosition) async throws {
        // Memory refuses a dead token before the file knows: the cache holds a tombstone, and
        // nothing can bring the session back.
        for entry in entries where entry.origin != configuration.name {
            if let hash = entry.removedToken { hints.notify(.revoked(hash)) }
        }
        let applying = try await changesToApply(entries)
        let outcomes: [SharedOutcome]
        if applying.isEmpty {
            outcomes = []
            // Only this host's own entries: the position is stored now and then, not per batch.
            if state.withLock({ state in state.lastStored.map { ContinuousClock.now - $0 >= .seconds(1) } ?? true }) {
                _ = try await primary.applyShared([], origin: primary.sharedOrigin, position: (cursorName, end), durable: false)
                state.withLock { $0.lastStored = .now }
            }
        } else {
            // Not fsynced: a power cut takes the position back with the changes, and both are read again.
            outcomes = try await primary.applyShared(applying.map(\.change), origin: primary.sharedOrigin, position: (cursorName, end), durable: false)
            state.withLock { $0.lastStored = .now }
            hints.notify(.changed)
        }
        var overwritten = 0
        var republished: [SyncEntry] = []
        let retention = primary.sharing.retention ?? SharingSettings.defaultRetention
        for (entry, outcome) in zip(applying, outcomes) {
            switch outcome {
            case .overwroteLocalChange:
                overwritten += 1
                configuration.logger.notice(
                    "a change made on this host while cut off lost to a later one from another host",
                    metadata: ["replica": "\(configuration.name)", "from": "\(entry.origin)"]
                )
            case .refused:
                // Redis offered a session this host knows to be dead: Redis lost its tombstone.
                if case .put(let shared, _) = entry.change {
                    let session = shared.session
                    republished.append(.remove(
                        session.tokenHash, sessionID: session.id, userID: session.userID,
                        until: SharingSettings.tombstoneUntil(session, deletedAt: SystemSessionClock().now, retention: retention), kind: .deleted
                    ))
                }
            default:
                break
            }
        }
        if !republished.isEmpty {
            metrics.refused.increment(by: republished.count)
            configuration.logger.notice(
                "Redis offered sessions this host knows to be dead; sending their tombstones again",
                metadata: ["replica": "\(configuration.name)", "sessions": "\(republished.count)"]
            )
            try await republish(republished)
        }
        let now = SystemSessionClock().now
        metrics.applied.increment(by: applying.count)
        if overwritten > 0 { metrics.overwritten.increment(by: overwritten) }
        let newest = Self.milliseconds(ofID: end.id)
        if let newest { metrics.lag.recordMilliseconds(max(0, now.millisecondsSince1970 - newest)) }
        state.withLock { state in
            state.position = end
            state.applied += applying.count
            state.overwritten += overwritten
            state.refused += republished.count
            state.lastEntryMilliseconds = newest
        }
    }

    /// The entries this host must apply, decoded: every other host's, and of its own only a
    /// session state it wrote to Redis by compare-and-set and its file does not hold yet (the
    /// process stopped in between).
    private func changesToApply(_ entries: [StreamEntry]) async throws -> [(origin: String, change: SharedChange)] {
        var decoded: [(origin: String, change: SharedChange)] = []
        var own: [SQLiteSessionStore.StoredSessionKey] = []
        for entry in entries where entry.origin != configuration.name || entry.isCompareAndSet {
            let change = try entry.change()
            if entry.origin == configuration.name, case .put(let shared, let previous) = change {
                own.append(.init(tokenHash: shared.session.tokenHash, id: shared.session.id))
                if let previous { own.append(.init(tokenHash: previous, id: shared.session.id)) }
            }
            decoded.append((entry.origin, change))
        }
        guard !own.isEmpty else { return decoded }
        let local = try await primary.sharedSessions(own)
        return decoded.filter { entry in
            guard entry.origin == configuration.name else { return true }
            guard case .put(let shared, let previous) = entry.change else { return false }
            if let held = local[shared.session.tokenHash] { return shared.supersedes(held) }
            // A rotation the file has not taken: it still holds the old token.
            return previous.map { local[$0] != nil } ?? false
        }
    }

    /// Copies every session, tombstone, revocation point and message log from Redis into the
    /// file under the usual rules, then follows the stream from where it ended when the copy
    /// began. Sessions the file holds that Redis does not are kept: they may be this host's
    /// own, not yet sent, and only a tombstone or a revocation point ends a session.
    public func resync() async throws {
        let keys = configuration.keys
        let end = try await streamEnd()
        var ids: [TokenHash: Int64] = [:]
        var dead: [TokenHash: SessionInstant] = [:]
        try await client.scanKeys(matching: RedisSessionKeys.pattern(keys.tombstonePrefix)) { names in
            let values = try await client.send(RedisCommand("MGET", names.map { .string($0) })).elements ?? []
            var changes: [SharedChange] = []
            for (name, value) in zip(names, values) {
                guard let hash = TokenHash(hex: name.dropFirst(keys.tombstonePrefix.count)),
                    let until = value.integer
                else { continue }
                dead[hash] = SessionInstant(millisecondsSince1970: until)
                changes.append(.remove(hash, sessionID: nil, kind: .deleted, until: SessionInstant(millisecondsSince1970: until)))
            }
            _ = try await primary.applyShared(changes, origin: primary.sharedOrigin, durable: false)
        }
        try await client.scanKeys(matching: RedisSessionKeys.pattern(keys.userRevokedPrefix)) { names in
            let replies = try await client.pipeline(names.flatMap { [RedisCommand("GET", .string($0)), RedisCommand("PEXPIRETIME", .string($0))] })
            var changes: [SharedChange] = []
            for (index, name) in names.enumerated() {
                guard let point = replies[2 * index].integer, let until = replies[2 * index + 1].integer, until > 0 else { continue }
                changes.append(.revokeUser(
                    String(name.dropFirst(keys.userRevokedPrefix.count)),
                    before: point, until: SessionInstant(millisecondsSince1970: until)
                ))
            }
            _ = try await primary.applyShared(changes, origin: primary.sharedOrigin, durable: false)
        }
        var republished: [SyncEntry] = []
        let retention = primary.sharing.retention ?? SharingSettings.defaultRetention
        try await client.scanKeys(matching: keys.sessionPattern) { names in
            let values = try await client.send(RedisCommand("MGET", names.map { .string($0) })).elements ?? []
            var copies: [SharedSession] = []
            for value in values {
                guard let text = value.string, let shared = try? SessionRecord.shared(text) else { continue }
                ids[shared.session.tokenHash] = shared.session.id
                copies.append(shared)
            }
            let outcomes = try await primary.applyShared(copies.map { .put($0, replacing: nil) }, origin: primary.sharedOrigin, durable: false)
            // Redis holds sessions this host knows to be dead (it came back from an older copy):
            // their tombstones go back, so no other host adopts them.
            for (shared, outcome) in zip(copies, outcomes) where outcome == .refused {
                let session = shared.session
                republished.append(.remove(
                    session.tokenHash, sessionID: session.id, userID: session.userID,
                    until: SharingSettings.tombstoneUntil(session, deletedAt: SystemSessionClock().now, retention: retention), kind: .deleted
                ))
            }
        }
        if !republished.isEmpty { try await republish(republished) }
        try await client.scanKeys(matching: RedisSessionKeys.pattern(keys.messagesPrefix)) { names in
            let replies = try await client.pipeline(names.map { RedisCommand("LRANGE", .string($0), 0, -1) })
            var changes: [SharedChange] = []
            for (name, reply) in zip(names, replies) {
                guard let hash = TokenHash(hex: name.dropFirst(keys.messagesPrefix.count)) else { continue }
                for text in (reply.elements ?? []).compactMap(\.string) {
                    if let message = try? RedisStoredMessage.decode(text).stored() {
                        changes.append(.message(hash, sessionID: ids[hash], message))
                    }
                }
            }
            _ = try await primary.applyShared(changes, origin: primary.sharedOrigin, durable: false)
        }
        // A tombstone names a hash, not a row: find this file's copies of dead sessions by walking it.
        var cursor: Int64 = 0
        while !dead.isEmpty {
            let page = try await primary.sharedSessions(after: cursor, limit: configuration.batchSize)
            guard let last = page.last else { break }
            let ended: [SharedChange] = page.compactMap { shared in
                dead[shared.session.tokenHash].map { .remove(shared.session.tokenHash, sessionID: shared.session.id, kind: .deleted, until: $0) }
            }
            if !ended.isEmpty { _ = try await primary.applyShared(ended, origin: primary.sharedOrigin, durable: false) }
            cursor = last.session.id
        }
        _ = try await primary.applyShared([], origin: primary.sharedOrigin, position: (cursorName, end), durable: false)
        state.withLock { state in
            state.position = end
            state.resyncs += 1
            // Redis may have lost the registry with the rest: register again.
            state.registered = false
        }
        metrics.resyncs.increment()
        hints.notify(.reset)
    }

    /// The stream's last entry now, or the start when it is empty.
    private func streamEnd() async throws -> StreamPosition {
        let keys = configuration.keys
        let replies = try await client.pipeline([
            RedisCommand("XREVRANGE", .string(keys.changeStream), "+", "-", "COUNT", 1),
            RedisCommand("GET", .string(keys.changeSequence)),
        ])
        if let newest = replies[0].elements?.first {
            let entry = try StreamEntry(newest)
            return StreamPosition(id: entry.id, sequence: entry.sequence)
        }
        // Empty: entries trimmed away, or none yet. The next entry gets the counter's next number.
        return StreamPosition(id: "0-0", sequence: replies[1].integer ?? 0)
    }

    /// The position in memory, else the one in the file, else (the first start) a full copy.
    private func currentPosition() async throws -> StreamPosition? {
        if let position = state.withLock({ $0.position }) { return position }
        if let stored = try await primary.streamPosition(cursorName) {
            state.withLock { $0.position = stored }
            return stored
        }
        configuration.logger.info("first start of this host's stream follower; copying every session from Redis", metadata: ["replica": "\(configuration.name)"])
        try await resync()
        return nil
    }

    /// Takes a clock tag from the registry in Redis the first time Redis answers: the host
    /// name's own when free, else the next free one, so no two hosts mint the same selectors.
    private func registerIfNeeded() async throws {
        if !state.withLock({ $0.tagLoaded }) {
            // The tag this file was given before, so a start while Redis is away keeps it.
            if let kept = try await primary.hostTag(configuration.name) { primary.clock.hostTag = kept }
            state.withLock { $0.tagLoaded = true }
        }
        guard !state.withLock({ $0.registered }) else { return }
        let preferred = primary.clock.hostTag
        let reply = try await client.run(
            HostRegistryScript.script, keys: [configuration.keys.hosts],
            arguments: [.string(configuration.name), .integer(preferred), .integer(HybridClock.maxHostTag)]
        )
        guard let tag = reply.integer, tag >= 0 else {
            throw SessionStoreError(.configurationError, "every clock tag (0...\(HybridClock.maxHostTag)) is taken in \(configuration.keys.hosts); remove hosts that are gone from it")
        }
        primary.clock.hostTag = tag
        try await primary.setHostTag(tag, for: configuration.name)
        if tag != preferred {
            configuration.logger.notice(
                "another host has this host name's clock tag; using the next free one",
                metadata: ["replica": "\(configuration.name)", "tag": "\(tag)"]
            )
        }
        state.withLock { $0.registered = true }
    }

    private func shouldPublishPosition() -> Bool {
        state.withLock { state in
            let now = ContinuousClock.now
            guard state.position != nil, state.lastPublished.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            state.lastPublished = now
            return true
        }
    }

    private func record(_ error: any Error) {
        let first = state.withLock { state in
            defer { state.lastError = "\(error)" }
            return state.lastError == nil
        }
        link.failed(error)
        configuration.logger.log(
            level: first ? .warning : .debug,
            "reading the shared change stream failed; will retry",
            metadata: ["replica": "\(configuration.name)", "error": "\(error)"]
        )
    }

    /// The entries of an `XREAD` reply (RESP2 or RESP3), or none when it timed out.
    static func entries(in reply: RESPValue) throws(SessionStoreError) -> [StreamEntry] {
        let streams: [RESPValue]
        switch reply {
        case .null: return []
        case .map(let pairs): streams = pairs.map(\.value)
        default:
            guard let elements = reply.elements else { throw SessionStoreError(.protocolError, "Redis answered XREAD with \(reply)") }
            streams = elements.compactMap { $0.elements?.last }
        }
        var entries: [StreamEntry] = []
        for stream in streams {
            for element in stream.elements ?? [] { entries.append(try StreamEntry(element)) }
        }
        return entries
    }

    /// The milliseconds part of a stream id.
    static func milliseconds(ofID id: String) -> Int64? {
        id.split(separator: "-").first.flatMap { Int64($0) }
    }
}

/// Gives each host a clock tag of its own (`HybridClock`).
///
/// KEYS: the registry hash. ARGV: host name, preferred tag, largest tag. Returns the host's tag,
/// or -1 when every tag is taken.
enum HostRegistryScript {
    static let script = RedisScript("""
        local mine = redis.call('HGET', KEYS[1], 'name:' .. ARGV[1])
        if mine then return tonumber(mine) end
        local count = tonumber(ARGV[3]) + 1
        for offset = 0, count - 1 do
          local tag = (tonumber(ARGV[2]) + offset) % count
          if redis.call('HSETNX', KEYS[1], 'tag:' .. tag, ARGV[1]) == 1 then
            redis.call('HSET', KEYS[1], 'name:' .. ARGV[1], tag)
            return tag
          end
        end
        return -1
        """)
}

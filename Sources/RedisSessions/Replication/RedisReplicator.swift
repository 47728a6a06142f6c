public import CoreMetrics
import Foundation
public import Logging
public import ServiceLifecycle
import Sessions
public import SQLiteSessions
import Synchronization
public import Tracing

/// Mirrors a ``SQLiteSessions/SQLiteSessionStore`` to Redis through its change log, which acts as
/// a durable outbox. SQLite stays the source of truth; the application never waits for Redis.
///
/// The replicator reads `session_changes` after its cursor (registered in
/// `replication_cursors`, so the log is not trimmed under it), and for each session named there
/// writes its current state to Redis: the record with `PXAT` at its deadline when it is live, a
/// `DEL` when it is gone. Applying a state is idempotent and always applies the newest state, so
/// a batch replayed after a crash or an outage cannot go backwards. Each batch is one
/// `MULTI … EXEC` that also stores the batch's last position in a marker key; only after
/// Redis accepted it does the cursor move in SQLite.
///
/// - Redis down: every local operation goes on; changes wait on disk; ``status`` and the store's
///   health report the backlog; attempts back off exponentially up to ``Configuration/maxRetryDelay``.
/// - Redis back with its data: replication resumes from the cursor.
/// - Redis back empty, or restored from an older snapshot: the marker is missing or behind the
///   cursor, so the replicator rewinds to the marker (when the log still has those changes) or
///   copies every live local session again.
/// - Sessions that expire locally also expire in Redis by `PXAT` at the same deadline; purged
///   sessions are deleted explicitly when their `expired` change is replicated.
///
/// Run it in a `ServiceGroup`, or call ``run()`` in a task of your own.
public final class RedisReplicator: Service, Sendable {
    /// What to replicate and how often.
    public struct Configuration: Sendable {
        /// Names the cursor in SQLite and the marker in Redis; one per replica.
        public var name: String
        /// The Redis key layout; the same as the ``RedisSessionStore`` that reads the replica.
        public var keys: RedisSessionKeys
        /// Changes applied per Redis transaction.
        public var batchSize: Int
        /// How often to look for new changes when there are none.
        public var pollInterval: Duration
        /// First wait after a failure; doubles up to ``maxRetryDelay``.
        public var retryDelay: Duration
        /// Longest wait between attempts while Redis is down.
        public var maxRetryDelay: Duration
        /// How long a graceful shutdown may spend sending what is committed and not yet in
        /// Redis (see ``RedisReplicator/flush(within:)``); zero stops at once.
        public var shutdownDeadline: Duration
        /// Where failures and resyncs are reported.
        public var logger: Logger
        /// Where the backlog, lag, changes, failures and resyncs are counted (labels
        /// `sessions_replication_*` with the dimension `replica` = ``name``); nil for `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?
        /// Where a span per batch sent goes; nil for the process-wide `InstrumentationSystem.tracer`.
        public var tracer: (any Tracer)?

        public init(
            name: String,
            keys: RedisSessionKeys = RedisSessionKeys(),
            batchSize: Int = 500,
            pollInterval: Duration = .milliseconds(10),
            retryDelay: Duration = .milliseconds(100),
            maxRetryDelay: Duration = .seconds(5),
            shutdownDeadline: Duration = .seconds(5),
            logger: Logger = Logger(label: "sessions.replicator"),
            metricsFactory: (any MetricsFactory)? = nil,
            tracer: (any Tracer)? = nil
        ) {
            self.name = name
            self.keys = keys
            self.batchSize = batchSize
            self.pollInterval = pollInterval
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
            self.shutdownDeadline = shutdownDeadline
            self.logger = logger
            self.metricsFactory = metricsFactory
            self.tracer = tracer
        }
    }

    /// `sessions_replication_*`, each with the dimension `replica`.
    private struct Metrics: Sendable {
        let backlog: Gauge
        let lag: CoreMetrics.Timer
        let changes: Counter
        let failures: Counter
        let resyncs: Counter

        init(replica: String, factory: (any MetricsFactory)?) {
            let factory = factory ?? MetricsSystem.factory
            let dimensions = [("replica", replica)]
            backlog = Gauge(label: "sessions_replication_backlog", dimensions: dimensions, factory: factory)
            lag = CoreMetrics.Timer(label: "sessions_replication_lag_seconds", dimensions: dimensions, factory: factory)
            changes = Counter(label: "sessions_replication_changes_total", dimensions: dimensions, factory: factory)
            failures = Counter(label: "sessions_replication_failures_total", dimensions: dimensions, factory: factory)
            resyncs = Counter(label: "sessions_replication_resyncs_total", dimensions: dimensions, factory: factory)
        }
    }

    private struct State {
        var status: ReplicationStatus
        var verified = false
        var recentLags: [Int64] = []
        var lagCursor = 0
    }

    /// The local store that is the source of truth.
    public let primary: SQLiteSessionStore
    /// The Redis connection pool.
    public let client: RedisClient
    /// What to replicate and how often.
    public let configuration: Configuration
    private let state: Mutex<State>
    private let reader = Mutex<(any SessionChangeReader)?>(nil)
    private let metrics: Metrics
    private let tracing: SessionTracing

    public init(primary: SQLiteSessionStore, client: RedisClient, configuration: Configuration) {
        self.primary = primary
        self.client = client
        self.configuration = configuration
        self.metrics = Metrics(replica: configuration.name, factory: configuration.metricsFactory)
        self.tracing = SessionTracing(configuration.tracer, store: "replicated")
        self.state = Mutex(State(status: ReplicationStatus(
            name: configuration.name, appliedSequence: 0, latestSequence: 0, redisReachable: false,
            lastError: nil, lastAppliedAt: nil, changesApplied: 0, resyncs: 0, lagP50: nil, lagP99: nil
        )))
    }

    private var cursorName: String { "redis:" + configuration.name }
    private var markerKey: String { configuration.keys.replicationMarker(configuration.name) }

    /// Where replication stands now.
    public var status: ReplicationStatus {
        state.withLock { state in
            var status = state.status
            let lags = state.recentLags.sorted()
            if !lags.isEmpty {
                status.lagP50 = .milliseconds(lags[(lags.count - 1) / 2])
                status.lagP99 = .milliseconds(lags[min(lags.count - 1, Int(Double(lags.count) * 0.99))])
            }
            return status
        }
    }

    /// Where replication stands, with the backlog counted against the change log's head and
    /// the stored cursor as they are now, not as the last poll saw them.
    ///
    /// Two small reads of the local file; when they fail, ``status`` as last seen.
    public func currentStatus() async -> ReplicationStatus {
        var status = self.status
        if let latest = try? await primary.lastChangeSequence() {
            status.latestSequence = max(status.latestSequence, latest)
        }
        if let cursor = try? await primary.replicationCursor(cursorName) {
            status.appliedSequence = cursor
        }
        metrics.backlog.record(status.backlog)
        return status
    }

    /// Replicates until cancelled or until the service group shuts down gracefully. Failures are
    /// logged and retried with backoff; they never end the service.
    ///
    /// On a graceful shutdown it first sends what is committed and not yet in Redis, for up to
    /// ``Configuration/shutdownDeadline`` (``flush(within:)``), so a host that is retired or
    /// redeployed leaves Redis complete; what it could not send is logged, and sent at the next start.
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var failures = 0
            while !Task.isCancelled {
                do {
                    let applied = try await replicateOnce()
                    failures = 0
                    if applied == 0 { try await Task.sleep(for: configuration.pollInterval) }
                } catch is CancellationError {
                    return
                } catch {
                    failures += 1
                    record(error)
                    let delay = min(configuration.maxRetryDelay, configuration.retryDelay * (1 << min(failures - 1, 20)))
                    do { try await Task.sleep(for: delay) } catch { return }
                }
            }
        }
        guard Task.isShuttingDownGracefully, !Task.isCancelled, configuration.shutdownDeadline > .zero else { return }
        let outcome = await flush(within: configuration.shutdownDeadline)
        let metadata: Logger.Metadata = [
            "replicator": "\(configuration.name)", "sent": "\(outcome.sent)", "left": "\(outcome.left)",
            "deadline": "\(configuration.shutdownDeadline)",
        ]
        if outcome.left == 0 {
            configuration.logger.info("replicator sent every committed change to Redis before stopping", metadata: metadata)
        } else {
            configuration.logger.warning(
                "replicator stopped with committed changes not in Redis; they are sent when it next starts",
                metadata: metadata.merging(["error": "\(outcome.lastError ?? "none")"]) { $1 }
            )
        }
    }

    /// What ``flush(within:)`` did.
    public struct FlushOutcome: Sendable, Hashable {
        /// Changes applied to Redis during the flush.
        public var sent: Int
        /// Changes committed locally and still not in Redis when it ended.
        public var left: Int64
        /// The last failure, if Redis could not be reached or refused a batch.
        public var lastError: String?
    }

    /// Sends every change committed so far, trying to reach Redis again at once and then every
    /// 20-250 ms, until nothing is left or `deadline` has passed.
    ///
    /// The service calls it on graceful shutdown; call it yourself before retiring a host when
    /// you run ``run()`` in a task of your own. Do not run it beside ``run()``. A request in
    /// flight at the deadline is abandoned (Redis may still apply it; replaying is harmless); a
    /// connection attempt to a host that does not answer may add up to the client's `connectTimeout`.
    @discardableResult
    public func flush(within deadline: Duration) async -> FlushOutcome {
        let end = ContinuousClock.now + deadline
        let (sent, lastError) = await withTaskGroup(of: (Int, String?)?.self) { group in
            group.addTask { [self] in await sendCommitted() }
            group.addTask {
                try? await Task.sleep(until: end, clock: .continuous)
                return nil
            }
            var outcome: (Int, String?) = (0, nil)
            if let first = await group.next(), let result = first { outcome = result }
            group.cancelAll()
            while let next = await group.next() {
                if let result = next { outcome = result }
            }
            return outcome
        }
        let left = await currentStatus().backlog
        // With nothing failed yet, the attempt under way when time ran out is why.
        let reason = lastError ?? status.lastError ?? "the deadline (\(deadline)) passed before Redis answered"
        return FlushOutcome(sent: sent, left: left, lastError: left == 0 ? nil : reason)
    }

    /// Applies batches until none is left or the task is cancelled, retrying failures quickly.
    private func sendCommitted() async -> (Int, String?) {
        var sent = 0
        var lastError: String?
        var delay = Duration.milliseconds(20)
        while !Task.isCancelled {
            client.retryNow()
            do {
                let applied = try await replicateOnce()
                if applied == 0 { return (sent, nil) }
                sent += applied
                delay = .milliseconds(20)
            } catch {
                if Task.isCancelled {
                    lastError = lastError ?? "\(error)"
                    break
                }
                lastError = "\(error)"
                record(error, quietly: true)
                do { try await Task.sleep(for: delay) } catch { break }
                delay = min(delay * 2, .milliseconds(250))
            }
        }
        return (sent, lastError)
    }

    /// Applies everything committed locally so far; returns when the backlog is empty.
    ///
    /// - Throws: The first failure; what was applied before it stays applied.
    public func catchUp() async throws {
        while try await replicateOnce() > 0 {}
    }

    /// Applies at most one batch of changes.
    ///
    /// - Returns: The number of changes applied; zero when there were none.
    @discardableResult
    public func replicateOnce() async throws -> Int {
        do {
            return try await replicateBatch()
        } catch {
            // The reader has moved past what failed to reach Redis: read it again next time,
            // and check the marker first, as after any failure.
            resetReader()
            state.withLock { $0.verified = false }
            throw error
        }
    }

    private func replicateBatch() async throws -> Int {
        var cursor = try await ensureCursor()
        if !state.withLock({ $0.verified }) {
            cursor = try await verifyReplica(cursor: cursor)
            state.withLock { $0.verified = true }
        }
        let batch = try nextChanges(after: cursor)
        state.withLock { state in
            state.status.latestSequence = max(state.status.latestSequence, batch.changes.last?.sequence ?? cursor)
        }
        if batch.missedChanges {
            try await resync()
            return 1
        }
        guard let last = batch.changes.last else {
            try await refreshLatest()
            return 0
        }
        try await tracing.withSpan("sessions.replicate") { span in
            span?.attributes["sessions.changes"] = batch.changes.count
            try await apply(batch.changes, through: last.sequence)
        }
        try await primary.setReplicationCursor(cursorName, to: last.sequence)
        let now = SystemSessionClock().now
        metrics.changes.increment(by: batch.changes.count)
        for change in batch.changes {
            metrics.lag.recordMilliseconds(max(0, (now - change.at).wholeMilliseconds))
        }
        state.withLock { state in
            state.status.appliedSequence = last.sequence
            state.status.redisReachable = true
            state.status.lastError = nil
            state.status.lastAppliedAt = now
            state.status.changesApplied += batch.changes.count
            for change in batch.changes {
                let lag = max(0, (now - change.at).wholeMilliseconds)
                if state.recentLags.count < 4096 {
                    state.recentLags.append(lag)
                } else {
                    state.recentLags[state.lagCursor] = lag
                    state.lagCursor = (state.lagCursor + 1) % 4096
                }
            }
        }
        metrics.backlog.record(state.withLock { $0.status.backlog })
        return batch.changes.count
    }

    // MARK: Steps

    /// The cursor, registering it (and scheduling a full copy) the first time.
    private func ensureCursor() async throws -> Int64 {
        if let cursor = try await primary.replicationCursor(cursorName) {
            state.withLock { $0.status.appliedSequence = cursor }
            return cursor
        }
        // A new replica starts empty: copy what exists, then follow the log from there.
        let start = try await primary.lastChangeSequence()
        try await primary.setReplicationCursor(cursorName, to: start)
        state.withLock { $0.verified = false }
        try await resync()
        return try await primary.replicationCursor(cursorName) ?? start
    }

    /// Compares the marker in Redis with the local cursor, repairing a replica that lost data.
    ///
    /// - Returns: The cursor to continue from.
    private func verifyReplica(cursor: Int64) async throws -> Int64 {
        let marker = try await client.send(RedisCommand("GET", .string(markerKey))).integer
        state.withLock { $0.status.redisReachable = true }
        switch marker {
        case .some(let applied) where applied >= cursor:
            // Equal, or ahead because the process stopped between Redis accepting a batch and
            // the cursor moving: replaying from the cursor is harmless.
            return cursor
        case .some(let applied) where applied < cursor:
            // Redis came back from an older snapshot; replay from what it has, if the log still holds it.
            if let oldest = try await primary.oldestChangeSequence(), oldest <= applied + 1 {
                configuration.logger.notice(
                    "Redis is behind the replication cursor; replaying",
                    metadata: ["replicator": "\(configuration.name)", "redis": "\(applied)", "cursor": "\(cursor)"]
                )
                try await primary.setReplicationCursor(cursorName, to: applied)
                resetReader()
                return applied
            }
            fallthrough
        default:
            configuration.logger.notice(
                "Redis does not hold what was replicated; copying every live session again",
                metadata: ["replicator": "\(configuration.name)", "marker": "\(marker.map(String.init) ?? "missing")", "cursor": "\(cursor)"]
            )
            try await resync()
            return try await primary.replicationCursor(cursorName) ?? cursor
        }
    }

    private func nextChanges(after cursor: Int64) throws -> SessionChangeBatch {
        try reader.withLock { reader in
            if reader == nil {
                reader = try primary.makeChangeReader(after: cursor, maxChangesPerRead: configuration.batchSize)
            }
            return try reader!.readChanges()
        }
    }

    private func resetReader() {
        reader.withLock { $0 = nil }
    }

    private func refreshLatest() async throws {
        let latest = try await primary.lastChangeSequence()
        state.withLock { $0.status.latestSequence = max($0.status.latestSequence, latest) }
    }

    /// Writes the current state of every session the changes name, and the marker, in one transaction.
    private func apply(_ changes: [SessionChange], through sequence: Int64) async throws {
        var order: [TokenHash] = []
        var keys: [SQLiteSessionStore.StoredSessionKey] = []
        var users: [TokenHash: Set<String>] = [:]
        for change in changes {
            if users[change.tokenHash] == nil {
                order.append(change.tokenHash)
                keys.append(SQLiteSessionStore.StoredSessionKey(tokenHash: change.tokenHash, id: change.sessionID))
            }
            users[change.tokenHash, default: []].formUnion(change.userID.map { [$0] } ?? [])
        }
        let stored = try await primary.storedSessions(keys)
        let now = primary.policy.now
        var commands = [RedisCommand("MULTI")]
        for hash in order {
            var formerUsers = users[hash] ?? []
            if let session = stored[hash], !session.isExpired(at: now) {
                commands += writeCommands(session)
                if let user = session.userID { formerUsers.remove(user) }
            } else {
                commands.append(RedisCommand("DEL", .string(configuration.keys.session(hash)), .string(configuration.keys.messages(hash))))
            }
            for user in formerUsers.sorted() {
                commands.append(RedisCommand("SREM", .string(configuration.keys.userSessions(user)), .string(hash.hex)))
            }
        }
        commands.append(RedisCommand("SET", .string(markerKey), .integer(sequence)))
        commands.append(RedisCommand("EXEC"))
        try await execute(commands)
    }

    /// The commands that store one live session and its user-set membership. `session` holds
    /// its data as stored (``SQLiteSessions/SQLiteSessionStore/storedSessions(_:)``): sealed
    /// when the file's is, so Redis never holds what the file does not.
    private func writeCommands(_ session: Session) -> [RedisCommand] {
        let keys = configuration.keys
        let deadline = RedisCommand.Argument.integer(session.expiresAt.millisecondsSince1970)
        var commands = [
            RedisCommand(
                "SET", .string(keys.session(session.tokenHash)),
                .string(SessionRecord(session, source: configuration.name).encoded()), "PXAT", deadline
            ),
        ]
        if let user = session.userID {
            let setKey = RedisCommand.Argument.string(keys.userSessions(user))
            commands.append(RedisCommand("SADD", setKey, .string(session.tokenHash.hex)))
            commands.append(RedisCommand("PEXPIREAT", setKey, deadline, "NX"))
            commands.append(RedisCommand("PEXPIREAT", setKey, deadline, "GT"))
        }
        return commands
    }

    /// Sends a `MULTI … EXEC` pipeline and fails unless every command was accepted.
    private func execute(_ commands: [RedisCommand]) async throws {
        let replies = try await client.pipeline(commands)
        guard let exec = replies.last else { return }
        for (command, reply) in zip(commands, replies) {
            if case .error(let message) = reply {
                throw SessionStoreError(.protocolError, "Redis refused \(command) while replicating: \(message)")
            }
        }
        guard let results = exec.elements else {
            throw SessionStoreError(.protocolError, "Redis aborted a replication transaction (\(exec))")
        }
        for result in results {
            if case .error(let message) = result {
                throw SessionStoreError(.protocolError, "Redis failed a replicated write: \(message)")
            }
        }
    }

    /// Copies every live local session to Redis, removes records this replicator wrote for
    /// sessions that no longer exist here, and restarts following the log from where the copy began.
    private func resync() async throws {
        let start = try await primary.lastChangeSequence()
        var cursor: SessionCursor?
        repeat {
            let page = try await primary.storedSessions(SessionQuery(includeExpired: false, after: cursor, limit: configuration.batchSize))
            if !page.sessions.isEmpty {
                try await execute([RedisCommand("MULTI")] + page.sessions.flatMap(writeCommands) + [RedisCommand("EXEC")])
            }
            cursor = page.next
        } while cursor != nil
        try await removeOrphans()
        try await execute([RedisCommand("MULTI"), RedisCommand("SET", .string(markerKey), .integer(start)), RedisCommand("EXEC")])
        try await primary.setReplicationCursor(cursorName, to: start)
        resetReader()
        state.withLock { state in
            state.status.appliedSequence = start
            state.status.resyncs += 1
            state.status.redisReachable = true
        }
        metrics.resyncs.increment()
    }

    /// Deletes the Redis records this replicator wrote whose sessions are gone locally.
    private func removeOrphans() async throws {
        let keys = configuration.keys
        var scanCursor = "0"
        repeat {
            let reply = try await client.send(RedisCommand("SCAN", .string(scanCursor), "MATCH", .string(keys.sessionPattern), "COUNT", 500))
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].string, let found = parts[1].elements else {
                throw SessionStoreError(.protocolError, "Redis answered SCAN with \(reply)")
            }
            scanCursor = next
            let names = found.compactMap(\.string)
            guard !names.isEmpty else { continue }
            let records = try await client.send(RedisCommand("MGET", names.map { .string($0) })).elements ?? []
            var ours: [(key: String, hash: TokenHash, id: Int64, text: String, user: String?)] = []
            for (key, value) in zip(names, records) {
                guard let text = value.string, let record = try? SessionRecord.decode(text),
                    record.source == configuration.name, let hash = keys.tokenHash(inKey: key)
                else { continue }
                ours.append((key, hash, record.id, text, record.user_id))
            }
            // Records this replicator wrote carry the local id, so each lookup is by primary key.
            let local = try await primary.storedSessions(ours.map { SQLiteSessionStore.StoredSessionKey(tokenHash: $0.hash, id: $0.id) })
            let now = primary.policy.now
            for orphan in ours where local[orphan.hash].map({ $0.isExpired(at: now) }) ?? true {
                _ = try await client.run(
                    RedisSessionScripts.remove,
                    keys: [orphan.key, keys.userSessions(orphan.user ?? ""), keys.messages(orphan.hash)],
                    arguments: [.string(orphan.text), .string(orphan.hash.hex), .string(orphan.user == nil ? "0" : "1")]
                )
            }
        } while scanCursor != "0"
    }

    private func record(_ error: any Error, quietly: Bool = false) {
        resetReader()
        metrics.failures.increment()
        let unreachable = (error as? SessionStoreError).map { [.unavailable, .timeout, .closed].contains($0.code) } ?? false
        state.withLock { state in
            state.verified = false
            state.status.lastError = "\(error)"
            if unreachable { state.status.redisReachable = false }
        }
        configuration.logger.log(
            level: quietly ? .debug : .warning,
            "replication to Redis failed; will retry",
            metadata: ["replicator": "\(configuration.name)", "error": "\(error)"]
        )
    }
}

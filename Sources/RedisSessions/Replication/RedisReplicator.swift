public import CoreMetrics
import Foundation
public import Logging
public import ServiceLifecycle
import Sessions
public import SQLiteSessions
import Synchronization
public import Tracing

/// Mirrors a `SQLiteSessionStore` to Redis through its change log, which acts as
/// a durable outbox. SQLite stays the source of truth; the application never waits for Redis.
///
/// The replicator reads `session_changes` after its cursor (registered in
/// `replication_cursors`, so the log is not trimmed under it), and for each session named there
/// sends its current state to Redis: the record with `PXAT` at its deadline when it is live, a
/// removal (with a tombstone, when sharing) when it is gone. Each batch is one Lua script
/// (`RedisSyncScript`) that applies the states under the rules every host applies, publishes
/// what it changed to the change stream when hosts share sessions
/// (``Configuration/streamLength``), and stores the batch's last position in a marker key; only
/// after Redis accepted it does the cursor move in SQLite. Applying a state is idempotent and a
/// state never replaces a later one, so a batch replayed after a crash or an outage cannot go
/// backwards. A store tells the replicator when it commits, so a change leaves at once.
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
        /// The most entries kept in the change stream that hosts sharing sessions follow
        /// (`XADD … MAXLEN ~`); 0 publishes nothing (one host, replicated). A host that falls
        /// further behind than this copies everything again.
        public var streamLength: Int
        /// Replicas of Redis that must have each batch (`WAIT`) before it counts as sent; 0 for
        /// none. With a Redis that fails over to a replica, this keeps a batch that only the
        /// old primary had from counting as sent.
        public var waitForReplicas: Int
        /// How long `WAIT` waits for those replicas.
        public var replicaTimeout: Duration

        /// Creates a configuration; each parameter sets the property of the same name.
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
            tracer: (any Tracer)? = nil,
            streamLength: Int = 0,
            waitForReplicas: Int = 0,
            replicaTimeout: Duration = .milliseconds(500)
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
            self.streamLength = streamLength
            self.waitForReplicas = waitForReplicas
            self.replicaTimeout = replicaTimeout
        }
    }

    /// `sessions_replication_*`, each with the dimension `replica`.
    private struct Metrics: Sendable {
        let backlog: Gauge
        let lag: CoreMetrics.Timer
        let changes: Counter
        let failures: Counter
        let resyncs: Counter
        let overwritten: Counter
        let refused: Counter

        init(replica: String, factory: (any MetricsFactory)?) {
            let factory = factory ?? MetricsSystem.factory
            let dimensions = [("replica", replica)]
            backlog = Gauge(label: "sessions_replication_backlog", dimensions: dimensions, factory: factory)
            lag = CoreMetrics.Timer(label: "sessions_replication_lag_seconds", dimensions: dimensions, factory: factory)
            changes = Counter(label: "sessions_replication_changes_total", dimensions: dimensions, factory: factory)
            failures = Counter(label: "sessions_replication_failures_total", dimensions: dimensions, factory: factory)
            resyncs = Counter(label: "sessions_replication_resyncs_total", dimensions: dimensions, factory: factory)
            overwritten = Counter(label: "sessions_sync_overwritten_total", dimensions: dimensions, factory: factory)
            refused = Counter(label: "sessions_sync_refused_total", dimensions: dimensions, factory: factory)
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
    private let wake = WakeSignal()
    /// Whether Redis answers, shared with the store and the stream follower.
    let link: SyncLink
    /// Told when a batch's answer changed the local file (a change here lost to a later one).
    let hints: SessionChangeListeners

    /// Creates a replicator that mirrors `primary` to Redis through `client`; each parameter sets
    /// the property of the same name.
    public convenience init(primary: SQLiteSessionStore, client: RedisClient, configuration: Configuration) {
        self.init(primary: primary, client: client, configuration: configuration, link: SyncLink(), hints: SessionChangeListeners())
    }

    init(primary: SQLiteSessionStore, client: RedisClient, configuration: Configuration, link: SyncLink, hints: SessionChangeListeners) {
        self.primary = primary
        self.client = client
        self.configuration = configuration
        self.link = link
        self.hints = hints
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
                    if applied == 0 { await wake.wait(upTo: configuration.pollInterval) }
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

    /// Sends what is committed now instead of at the next poll: stores call this after each write.
    public func wakeUp() {
        wake.signal()
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
        var changes = batch.changes
        // A rotation is logged as two changes; when a full batch ends between them, the second
        // half goes with the next batch, so the token is renamed in Redis, not deleted and made anew.
        let heldBack = changes.count > 1 && changes.count >= configuration.batchSize && changes.last?.kind == .rotatedOut
        if heldBack { changes.removeLast() }
        guard let last = changes.last else {
            try await refreshLatest()
            return 0
        }
        try await tracing.withSpan("sessions.replicate") { span in
            span?.attributes["sessions.changes"] = changes.count
            try await apply(changes, through: last.sequence)
        }
        try await primary.setReplicationCursor(cursorName, to: last.sequence)
        if heldBack { resetReader() }
        let now = SystemSessionClock().now
        metrics.changes.increment(by: changes.count)
        for change in changes {
            metrics.lag.recordMilliseconds(max(0, (now - change.at).wholeMilliseconds))
        }
        state.withLock { state in
            state.status.appliedSequence = last.sequence
            state.status.redisReachable = true
            state.status.lastError = nil
            state.status.lastAppliedAt = now
            state.status.changesApplied += changes.count
            for change in changes {
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
        link.succeeded()
        return changes.count
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

    /// One step of a batch, in the order of the changes: a session's state (decided from the
    /// file when the batch is sent), a message, or a user's revocation point.
    private enum Step {
        case state(TokenHash, sessionID: Int64?, previous: TokenHash?, removal: SessionChange.Kind?)
        case message(TokenHash, sessionID: Int64?, messageID: Int64)
        case revokeUser(String, at: SessionInstant)
    }

    /// Sends the current state of every session the changes name, and the marker, in one script.
    private func apply(_ changes: [SessionChange], through sequence: Int64) async throws {
        // What other hosts' changes did to this file came from Redis: nothing to send back.
        let ours = changes.filter { $0.origin != primary.sharedOrigin }
        var previous: [TokenHash: TokenHash] = [:]
        var renamed: Set<TokenHash> = []
        var pendingOut: [Int64?: TokenHash] = [:]
        for change in ours {
            if change.kind == .rotatedOut {
                pendingOut[change.sessionID] = change.tokenHash
            } else if change.kind == .rotated, let old = pendingOut.removeValue(forKey: change.sessionID) {
                previous[change.tokenHash] = old
                renamed.insert(old)
            }
        }
        var removal: [TokenHash: SessionChange.Kind] = [:]
        for change in ours where change.removesToken && change.kind != .expired { removal[change.tokenHash] = change.kind }
        var steps: [Step] = []
        var seen: Set<TokenHash> = []
        for change in ours {
            switch change.kind {
            case .appended:
                if let id = change.messageID { steps.append(.message(change.tokenHash, sessionID: change.sessionID, messageID: id)) }
            case .userRevoked:
                if let user = change.userID { steps.append(.revokeUser(user, at: change.at)) }
            default:
                // A token renamed by a rotation in this batch goes with the new token's state.
                guard !renamed.contains(change.tokenHash), seen.insert(change.tokenHash).inserted else { continue }
                steps.append(.state(change.tokenHash, sessionID: change.sessionID, previous: previous[change.tokenHash], removal: removal[change.tokenHash]))
            }
        }
        let entries = try await entries(for: steps)
        try await send(entries, marker: sequence)
    }

    /// The script entries for `steps`, from the file as it is now.
    private func entries(for steps: [Step]) async throws -> [SyncEntry] {
        var keys: [SQLiteSessionStore.StoredSessionKey] = []
        var removed: [TokenHash] = []
        var messageIDs: [Int64] = []
        for step in steps {
            switch step {
            case .state(let hash, let id, let previous, let removal):
                keys.append(.init(tokenHash: hash, id: id))
                if removal != nil { removed.append(hash) }
                if let previous { removed.append(previous) }
            case .message(_, _, let id): messageIDs.append(id)
            case .revokeUser: break
            }
        }
        let stored = try await primary.sharedSessions(keys)
        let deadlines = removed.isEmpty ? [:] : try await primary.tombstoneDeadlines(removed)
        let messages = messageIDs.isEmpty ? [:] : try await primary.storedMessages(messageIDs)
        let users = steps.compactMap { step -> String? in
            if case .revokeUser(let user, _) = step { return user }
            return nil
        }
        let points = users.isEmpty ? [:] : try await primary.revocationPoints(users)
        let now = primary.policy.now
        var entries: [SyncEntry] = []
        var messageEntries: [SyncEntry] = []
        entries.reserveCapacity(steps.count)
        for step in steps {
            switch step {
            case .state(let hash, let id, let previous, let removal):
                if let shared = stored[hash], !shared.session.isExpired(at: now) {
                    entries.append(.put(shared, record: record(shared), previous: previous, compareWith: nil))
                    continue
                }
                if let previous {
                    entries.append(.remove(previous, sessionID: id, userID: nil, until: deadlines[previous] ?? now, kind: .rotatedOut))
                }
                if let removal {
                    // Without a tombstone here (one host, not sharing), Redis keeps none either.
                    entries.append(.remove(hash, sessionID: id, userID: stored[hash]?.session.userID, until: deadlines[hash] ?? now, kind: removal))
                } else {
                    entries.append(.gone(hash))
                }
            case .message:
                // Messages go last, to their session's current token: a rotation in this batch
                // (or one that went to Redis before it) has renamed the log by then.
                guard case .message(_, _, let messageID) = step, let (sessionID, hash, message) = messages[messageID] else { continue }
                messageEntries.append(.message(hash, sessionID: sessionID, text: try RedisStoredMessage(message).encoded()))
            case .revokeUser(let user, _):
                // The point as the file keeps it now: the latest, if several were made.
                if let point = points[user] {
                    entries.append(.revokeUser(user, before: point.before, until: point.until))
                }
            }
        }
        return entries + messageEntries
    }

    /// The record text of a session as this replicator writes it.
    func record(_ shared: SharedSession) -> String {
        SessionRecord(shared, source: configuration.name).encoded()
    }

    /// Runs the sync script on `entries` (and `WAIT`s for replicas when configured), then brings
    /// the file in line with what Redis answered: a change here that lost to a later one is
    /// replaced by it, and a token Redis knows to be dead is removed here too.
    ///
    /// - Returns: What Redis did with each entry.
    @discardableResult
    func send(_ entries: [SyncEntry], marker: Int64?) async throws -> [SyncResult] {
        // One host that shares nothing keeps no tombstones in Redis either.
        let retention = primary.sharing.retention ?? .zero
        let keys = configuration.keys
        let arguments: [RedisCommand.Argument] = [
            .string(keys.prefix), .string(configuration.name), .string(marker.map(String.init) ?? ""),
            .integer(Int64(configuration.streamLength)), .integer(primary.policy.now.millisecondsSince1970),
            .integer(Int64(primary.policy.maxMessagesPerSession)), .integer(retention.wholeMilliseconds),
        ] + entries.flatMap(\.arguments)
        let scriptKeys = [keys.changeStream, keys.changeSequence, markerKey]
        var commands = [RedisSyncScript.script.evalsha(keys: scriptKeys, arguments: arguments)]
        if configuration.waitForReplicas > 0 {
            commands.append(RedisCommand("WAIT", .integer(Int64(configuration.waitForReplicas)), .integer(configuration.replicaTimeout.wholeMilliseconds)))
        }
        var replies = try await client.pipeline(commands)
        if case .error(let message) = replies[0], message.hasPrefix("NOSCRIPT") {
            commands[0] = RedisSyncScript.script.eval(keys: scriptKeys, arguments: arguments)
            replies = try await client.pipeline(commands)
        }
        if case .error(let message) = replies[0] {
            throw SessionStoreError(.protocolError, "Redis refused a replication batch: \(message)", underlying: .init(code: nil, message: message))
        }
        if configuration.waitForReplicas > 0 {
            let acknowledged = replies.count > 1 ? replies[1].integer ?? 0 : 0
            guard acknowledged >= Int64(configuration.waitForReplicas) else {
                throw SessionStoreError(
                    .unavailable,
                    "a replication batch reached \(acknowledged) of the \(configuration.waitForReplicas) Redis replicas it must reach within \(configuration.replicaTimeout)"
                )
            }
        }
        let results = (replies[0].elements ?? []).map(SyncResult.init)
        guard results.count == entries.count else {
            throw SessionStoreError(.protocolError, "Redis answered \(results.count) results for a batch of \(entries.count)")
        }
        try await settle(entries, results)
        return results
    }

    private func settle(_ entries: [SyncEntry], _ results: [SyncResult]) async throws {
        var repairs: [SharedChange] = []
        let retention = primary.sharing.retention ?? SharingSettings.defaultRetention
        for (entry, result) in zip(entries, results) {
            switch (entry, result) {
            case (.put(let shared, _, _, _), .refused(let revoked)):
                metrics.refused.increment()
                let session = shared.session
                repairs.append(.remove(
                    session.tokenHash, sessionID: session.id, kind: revoked ? .revoked : .deleted,
                    until: SharingSettings.tombstoneUntil(session, deletedAt: primary.policy.now, retention: retention)
                ))
                configuration.logger.notice(
                    "another host had ended a session this host still held; ending it here too",
                    metadata: ["replicator": "\(configuration.name)", "session": "\(session.tokenHash.shortHex)", "reason": "\(revoked ? "user logged out everywhere" : "token deleted")"]
                )
            case (.put(let shared, _, _, _), .stale(let text)):
                metrics.overwritten.increment()
                if let later = try? SessionRecord.shared(text) {
                    repairs.append(.put(later, replacing: nil))
                }
                configuration.logger.notice(
                    "a change made on this host lost to a later one from another host",
                    metadata: ["replicator": "\(configuration.name)", "session": "\(shared.session.tokenHash.shortHex)", "clock": "\(shared.clock)"]
                )
            case (_, .invalid(let reason)):
                configuration.logger.error("Redis could not apply a replicated change", metadata: ["replicator": "\(configuration.name)", "reason": "\(reason)"])
            default:
                break
            }
        }
        guard !repairs.isEmpty else { return }
        _ = try await primary.applyShared(repairs, origin: primary.sharedOrigin, durable: false)
        for case .remove(let hash, _, _, _) in repairs { hints.notify(.revoked(hash)) }
        hints.notify(.changed)
    }

    /// Copies every live local session to Redis, removes records this replicator wrote for
    /// sessions that no longer exist here, and restarts following the log from where the copy
    /// began. The tombstones and revocation points this host keeps go first, so the copy of a
    /// host that missed a deletion cannot bring the session back.
    private func resync() async throws {
        let start = try await primary.lastChangeSequence()
        var after: TokenHash?
        repeat {
            let page = try await primary.tombstones(after: after, limit: configuration.batchSize)
            if !page.isEmpty {
                try await send(page.map { .remove($0.hash, sessionID: $0.sessionID, userID: nil, until: $0.until, kind: .deleted) }, marker: nil)
            }
            after = page.count == configuration.batchSize ? page.last?.hash : nil
        } while after != nil
        let revocations = try await primary.userRevocations()
        for chunk in stride(from: 0, to: revocations.count, by: configuration.batchSize) {
            let slice = revocations[chunk..<min(chunk + configuration.batchSize, revocations.count)]
            try await send(slice.map { .revokeUser($0.userID, before: $0.before, until: $0.until) }, marker: nil)
        }
        var cursor: Int64 = 0
        while true {
            let page = try await primary.sharedSessions(after: cursor, limit: configuration.batchSize)
            guard let last = page.last else { break }
            let logs = try await primary.storedMessages(ofSessions: page.map(\.session.id), last: primary.policy.maxMessagesPerSession)
            try await send(page.map { .put($0, record: record($0), previous: nil, compareWith: nil) }, marker: nil)
            var messages: [SyncEntry] = []
            for shared in page {
                for message in logs[shared.session.id] ?? [] {
                    messages.append(.message(shared.session.tokenHash, sessionID: shared.session.id, text: try RedisStoredMessage(message).encoded()))
                }
            }
            for start in stride(from: 0, to: messages.count, by: configuration.batchSize) {
                try await send(Array(messages[start..<min(start + configuration.batchSize, messages.count)]), marker: nil)
            }
            cursor = last.session.id
        }
        try await removeOrphans()
        try await send([], marker: start)
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
        try await client.scanKeys(matching: keys.sessionPattern) { names in
            let records = try await client.send(RedisCommand("MGET", names.map { .string($0) })).elements ?? []
            var ours: [(key: String, hash: TokenHash, id: Int64, text: String, user: String?)] = []
            for (key, value) in zip(names, records) {
                guard let text = value.string, let record = try? SessionRecord.decode(text),
                    record.source == configuration.name, let hash = keys.tokenHash(inKey: key)
                else { continue }
                ours.append((key, hash, record.id, text, record.userID))
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
        }
    }

    private func record(_ error: any Error, quietly: Bool = false) {
        resetReader()
        metrics.failures.increment()
        let unreachable = (error as? SessionStoreError).map { [.unavailable, .timeout, .closed].contains($0.code) } ?? false
        if unreachable { link.failed(error) }
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

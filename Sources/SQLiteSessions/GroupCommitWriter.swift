import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import Foundation
import Logging
import Sessions
import Synchronization
import Tracing

/// The single connection that writes, owned by one dedicated thread, committing in groups.
///
/// Callers enqueue operations and suspend. The thread wakes, takes everything queued (up to
/// `maxBatchSize`), runs it inside ONE `BEGIN IMMEDIATE … COMMIT`, and only after the commit
/// returns resumes every caller. Under load, 64 concurrent writes cost about one commit, and in
/// durability `.full` one `fsync` of the WAL, instead of 64.
///
/// Each operation in a group runs inside its own savepoint, so one failing operation (a conflict,
/// a full disk) rolls back only its own statements and the rest still commit. If SQLite itself
/// rolls the whole transaction back (it may for `SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_NOMEM`:
/// <https://www.sqlite.org/lang_transaction.html>), the failed operation gets the error and the
/// others are run again in a fresh transaction; nobody is told "done" before their commit.
///
/// Blocking file I/O happens on this thread, never on Swift's cooperative pool.
final class GroupCommitWriter: Sendable {
    /// Called once the fate of an operation's transaction is known: nil after a commit, the error
    /// otherwise; and how many operations the transaction carried.
    typealias Completion = @Sendable (SessionStoreError?, _ group: Int) -> Void

    /// One unit of work for the writer.
    struct Operation: Sendable {
        /// Runs the operation's statements inside the open transaction. Throwing rolls back just
        /// this operation; returning hands over what to do once the commit succeeds or fails.
        let perform: @Sendable (SQLiteConnection) throws(SessionStoreError) -> Completion
        /// Reports that the operation failed or will never run.
        let abandon: @Sendable (SessionStoreError) -> Void
        /// Run alone and outside any transaction (a checkpoint, VACUUM).
        var standalone = false
        /// Background work (a purge chunk) that is safe to lose and do again: it runs in a
        /// transaction of its own whose commit is not fsynced, and stops early when others are
        /// waiting (``hasWaitingOperations``).
        var background = false
    }

    private struct State {
        var pending: [Operation] = []
        var sleeping = false
        var closing = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var stats = WriteStats()
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let maxBatchSize: Int
    private let logger: Logger
    let metrics: SQLiteStoreMetrics

    /// Starts the writer thread and opens its connection there.
    ///
    /// - Parameters:
    ///   - maxBatchSize: The most operations one transaction takes.
    ///   - logger: Where failures of fire-and-forget operations are reported.
    ///   - metrics: Where commits, queue depth and touches are counted.
    ///   - open: Opens and prepares the connection (pragmas, migrations); runs on the writer thread.
    ///   - openCheckpointer: Opens a second connection for a ``WALCheckpointer``, so that commits
    ///     never checkpoint themselves; nil leaves checkpoints to SQLite.
    /// - Throws: Whatever `open` throws; the thread has then exited.
    init(
        maxBatchSize: Int,
        logger: Logger,
        metrics: SQLiteStoreMetrics,
        open: @escaping @Sendable () throws(SessionStoreError) -> SQLiteConnection,
        openCheckpointer: (@Sendable () throws(SessionStoreError) -> SQLiteConnection)? = nil
    ) throws(SessionStoreError) {
        self.maxBatchSize = max(1, maxBatchSize)
        self.logger = logger
        self.metrics = metrics
        let opened = Mutex<Result<Void, SessionStoreError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            let connection: SQLiteConnection
            var checkpointer: WALCheckpointer?
            do throws(SessionStoreError) {
                connection = try open()
                if let openCheckpointer {
                    checkpointer = try WALCheckpointer(logger: logger, open: openCheckpointer)
                    connection.trackWriteAheadLog()
                }
                opened.withLock { $0 = .success(()) }
            } catch {
                opened.withLock { $0 = .failure(error) }
                ready.signal()
                self.finish()
                return
            }
            ready.signal()
            self.run(connection, checkpointer: checkpointer)
            // Close before reporting the exit, so whoever awaited close() finds the file released
            // and the WAL checkpointed (by the checkpointer's connection, which closes last).
            connection.close()
            checkpointer?.close()
            self.finish()
        }
        thread.name = "sessions-writer"
        thread.start()
        ready.wait()
        if case .failure(let error) = opened.withLock({ $0 }) { throw error }
    }

    /// Figures since the writer started.
    var stats: WriteStats { state.withLock { $0.stats } }

    /// Runs `body` in the next group transaction and returns its result once that transaction committed.
    ///
    /// Once enqueued, the operation runs even if the calling task is cancelled.
    ///
    /// - Parameter span: Gets `sessions.commit.operations`, the size of the group it committed in.
    func write<T: Sendable>(
        span: (any Span)? = nil,
        _ body: @escaping @Sendable (SQLiteConnection) throws(SessionStoreError) -> T
    ) async throws(SessionStoreError) -> T {
        try await submit(body, standalone: false, span: span)
    }

    /// Runs background work in a transaction of its own, committed with `synchronous=NORMAL`
    /// (written to the log, not fsynced): for work that a crash may undo and that is done again
    /// afterwards, such as deleting expired sessions. The next durable commit flushes it anyway,
    /// since the log is flushed in order. `body` should check ``hasWaitingOperations`` and stop
    /// early, so the writes queued behind it wait for one short step and a commit without fsync.
    func writeInBackground<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws(SessionStoreError) -> T
    ) async throws(SessionStoreError) -> T {
        try await submit(body, standalone: false, background: true)
    }

    /// Whether operations are queued behind the one running: for long operations to stop early.
    var hasWaitingOperations: Bool {
        state.withLock { !$0.pending.isEmpty }
    }

    /// Runs `body` on the writer connection alone, outside any transaction, between groups:
    /// for statements that cannot run in a transaction (`VACUUM`, `PRAGMA wal_checkpoint`).
    func writeAlone<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws(SessionStoreError) -> T
    ) async throws(SessionStoreError) -> T {
        try await submit(body, standalone: true)
    }

    private func submit<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws(SessionStoreError) -> T,
        standalone: Bool,
        background: Bool = false,
        span: (any Span)? = nil
    ) async throws(SessionStoreError) -> T {
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let operation = Operation(
                    perform: { connection throws(SessionStoreError) in
                        let value = try body(connection)
                        return { error, group in
                            span?.attributes["sessions.commit.operations"] = group
                            if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: value) }
                        }
                    },
                    abandon: { continuation.resume(throwing: $0) },
                    standalone: standalone,
                    background: background
                )
                do {
                    try submit(operation)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } catch let error as SessionStoreError {
            throw error
        } catch {
            throw SessionStoreError(.internalError, "unexpected error from the writer: \(error)")
        }
    }

    /// Waits until every operation enqueued before this call has committed (or failed).
    func flush() async throws(SessionStoreError) {
        try await write { _ in () }
    }

    /// Counts a use of a sliding session: persisted, skipped because the stored one was recent, or failed.
    func recordTouch(_ outcome: TouchOutcome) {
        state.withLock {
            switch outcome {
            case .persisted: $0.stats.touchesPersisted += 1
            case .skipped: $0.stats.touchesSkipped += 1
            case .failed: $0.stats.touchesFailed += 1
            }
        }
        switch outcome {
        case .persisted: metrics.touchesWritten.increment()
        case .skipped: metrics.touchesSkipped.increment()
        case .failed: metrics.touchesFailed.increment()
        }
    }

    enum TouchOutcome {
        case persisted
        case skipped
        case failed
    }

    /// Stops accepting operations, finishes the queued ones, closes the connection, and returns
    /// when the thread has exited.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (wake, exited) = state.withLock { state -> (Bool, Bool) in
                state.closing = true
                if state.exited { return (false, true) }
                state.exitWaiters.append(continuation)
                let wake = state.sleeping
                state.sleeping = false
                return (wake, false)
            }
            if wake { wakeUp.signal() }
            if exited { continuation.resume() }
        }
    }

    /// Like ``close()`` but without waiting; for `deinit`.
    func shutdown() {
        let wake = state.withLock { state -> Bool in
            state.closing = true
            let wake = state.sleeping
            state.sleeping = false
            return wake
        }
        if wake { wakeUp.signal() }
    }

    private func submit(_ operation: Operation) throws(SessionStoreError) {
        let wake = try state.withLock { state throws(SessionStoreError) -> Bool in
            guard !state.closing else { throw SessionStoreError(.closed, "the SQLite session store was closed") }
            state.pending.append(operation)
            guard state.sleeping else { return false }
            state.sleeping = false
            return true
        }
        if wake { wakeUp.signal() }
    }

    // MARK: The writer thread

    private func run(_ connection: SQLiteConnection, checkpointer: WALCheckpointer?) {
        var lastSize = 0
        let onIdle = {
            if let checkpointer, connection.writeAheadLogFrames >= WALCheckpointer.idleThreshold { checkpointer.request() }
        }
        while let batch = nextBatch(afterGroupOf: lastSize, onIdle: onIdle) {
            lastSize = batch.count
            if batch.count == 1, batch[0].standalone {
                runAlone(batch[0], on: connection)
                continue
            }
            var remaining = batch[...]
            while !remaining.isEmpty {
                remaining = runTransaction(remaining, on: connection)
            }
            if let checkpointer { keepWriteAheadLogShort(connection, checkpointer) }
        }
    }

    /// Asks for a background checkpoint once the log passes ``WALCheckpointer/threshold``.
    private func keepWriteAheadLogShort(_ connection: SQLiteConnection, _ checkpointer: WALCheckpointer) {
        if connection.writeAheadLogFrames >= WALCheckpointer.threshold { checkpointer.request() }
    }

    private func runAlone(_ operation: Operation, on connection: SQLiteConnection) {
        do throws(SessionStoreError) {
            let completion = try operation.perform(connection)
            state.withLock { $0.stats.operations += 1 }
            completion(nil, 1)
        } catch {
            operation.abandon(error)
        }
    }

    /// How many times the writer yields its core, finding nothing queued, before it sleeps.
    ///
    /// Callers resumed by a commit usually enqueue their next write within microseconds; a writer
    /// that is still awake then takes it without the futex wake-up that sleeping costs. When
    /// nothing comes, the yields cost a few microseconds once per idle spell.
    private static let yieldsBeforeSleeping = 16

    /// How many times the writer yields to let a group grow back to about the size of the last
    /// one, when fewer than half as many are queued: under steady concurrent load the callers the
    /// last commit resumed are about to enqueue again, and one group for all of them costs one
    /// commit (and one fsync with ``SQLiteSessionStore/Durability/full``) instead of several.
    private static let yieldsToGather = 8

    private enum Next {
        /// The group, and how many were queued when it was taken.
        case batch([Operation], queued: Int)
        case yield
        case sleep
        case exit
    }

    private func nextBatch(afterGroupOf lastSize: Int, onIdle: () -> Void) -> [Operation]? {
        var yields = 0
        while true {
            let next = state.withLock { state -> Next in
                if state.pending.isEmpty {
                    if state.closing { return .exit }
                    guard yields >= Self.yieldsBeforeSleeping else { return .yield }
                    state.sleeping = true
                    return .sleep
                }
                if state.pending.count * 2 < lastSize, yields < Self.yieldsToGather, !state.closing { return .yield }
                let queued = state.pending.count
                // Standalone and background operations run by themselves; a group stops before either.
                if state.pending[0].standalone || state.pending[0].background { return .batch([state.pending.removeFirst()], queued: queued) }
                let end = state.pending.prefix(maxBatchSize).firstIndex { $0.standalone || $0.background }
                    ?? min(state.pending.count, maxBatchSize)
                if end == state.pending.count {
                    defer { state.pending.removeAll(keepingCapacity: true) }
                    return .batch(state.pending, queued: queued)
                }
                defer { state.pending.removeFirst(end) }
                return .batch(Array(state.pending.prefix(end)), queued: queued)
            }
            switch next {
            case .batch(let batch, let queued):
                metrics.writerQueueDepth.record(queued)
                return batch
            case .exit: return nil
            case .yield:
                yields += 1
                sched_yield()
            case .sleep:
                yields = 0
                onIdle()
                wakeUp.wait()
            }
        }
    }

    private func finish() {
        let waiters = state.withLock { state in
            state.exited = true
            state.closing = true
            let waiters = state.exitWaiters
            state.exitWaiters = []
            return (waiters, state.pending)
        }
        for operation in waiters.1 {
            operation.abandon(SessionStoreError(.closed, "the SQLite session store was closed"))
        }
        for waiter in waiters.0 { waiter.resume() }
    }

    /// Runs one group transaction.
    ///
    /// Operations run one after another without savepoints: most that fail (a conflict, a
    /// session gone) fail before they change anything, and then there is nothing to undo. One
    /// that fails after changing rows sends the whole group back to run again with a savepoint
    /// around each operation, so only that one's statements are undone.
    ///
    /// - Returns: The operations to run again because SQLite rolled the transaction back under them.
    private func runTransaction(_ operations: ArraySlice<Operation>, on connection: SQLiteConnection) -> ArraySlice<Operation> {
        switch runTransaction(operations, on: connection, isolated: false) {
        case .done(let again): return again
        case .needsIsolation(let all): return runTransaction(all, on: connection, isolated: true).again
        }
    }

    private enum GroupOutcome {
        /// Finished: committed, or failed and reported; the operations to run again.
        case done(again: ArraySlice<Operation>)
        /// An operation failed after changing rows and the group was rolled back unreported.
        case needsIsolation(ArraySlice<Operation>)

        var again: ArraySlice<Operation> {
            if case .done(let again) = self { again } else { [] }
        }
    }

    private func runTransaction(_ batch: ArraySlice<Operation>, on connection: SQLiteConnection, isolated requested: Bool) -> GroupOutcome {
        // Background work is committed without fsync: only when the connection would fsync.
        let started = DispatchTime.now().uptimeNanoseconds
        let relaxed = batch.count == 1 && batch.first?.background == true && connection.isFullySynchronous
        if relaxed { connection.setFullySynchronous(false) }
        defer { if relaxed { connection.setFullySynchronous(true) } }
        do {
            try connection.with(.begin) { statement throws(SessionStoreError) in try statement.run("beginning a write transaction") }
        } catch {
            metrics.commitFailures.increment()
            for operation in batch { operation.abandon(error) }
            return .done(again: [])
        }
        let operations = batch
        var completions: [Completion] = []
        completions.reserveCapacity(operations.count)
        var performed: [Operation] = []
        performed.reserveCapacity(operations.count)

        // A group of one needs no savepoint: its transaction is its savepoint.
        let isolated = requested && operations.count > 1
        for index in operations.indices {
            let operation = operations[index]
            let changesBefore = connection.totalChanges
            do throws(SessionStoreError) {
                if isolated { try connection.with(.savepoint) { statement throws(SessionStoreError) in try statement.run("opening a savepoint") } }
                let completion = try operation.perform(connection)
                if isolated { try connection.with(.releaseSavepoint) { statement throws(SessionStoreError) in try statement.run("releasing a savepoint") } }
                completions.append(completion)
                performed.append(operation)
            } catch {
                if connection.isAutocommit {
                    // SQLite rolled back the whole transaction: nothing performed so far is in the
                    // database any more. The failed operation gets its error; the rest start over.
                    operation.abandon(error)
                    return .done(again: ArraySlice(performed) + operations[(index + 1)...])
                }
                if !requested {
                    if connection.totalChanges == changesBefore {
                        operation.abandon(error)
                        continue
                    }
                    rollBack(connection)
                    guard operations.count > 1 else {
                        operation.abandon(error)
                        return .done(again: [])
                    }
                    return .needsIsolation(operations)
                }
                if !isolated {
                    rollBack(connection)
                    operation.abandon(error)
                    return .done(again: [])
                }
                do throws(SessionStoreError) {
                    try connection.with(.rollbackToSavepoint) { statement throws(SessionStoreError) in try statement.run("rolling back a savepoint") }
                    try connection.with(.releaseSavepoint) { statement throws(SessionStoreError) in try statement.run("releasing a savepoint") }
                    operation.abandon(error)
                } catch let rollbackError {
                    rollBack(connection)
                    operation.abandon(error)
                    for other in performed { other.abandon(rollbackError) }
                    for other in operations[(index + 1)...] { other.abandon(rollbackError) }
                    return .done(again: [])
                }
            }
        }

        do {
            try connection.with(.commit) { statement throws(SessionStoreError) in try statement.run("committing") }
        } catch {
            rollBack(connection)
            metrics.commitFailures.increment()
            report(completions, error, group: performed.count)
            return .done(again: [])
        }
        metrics.commits.increment()
        metrics.commitOperations.record(performed.count)
        metrics.commitDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- started))
        state.withLock { state in
            state.stats.transactions += 1
            state.stats.operations += performed.count
            state.stats.largestBatch = max(state.stats.largestBatch, performed.count)
        }
        report(completions, nil, group: performed.count)
        return .done(again: [])
    }

    /// Tells every operation of a group how its transaction ended.
    ///
    /// Each completion resumes a suspended task, and a resume from this thread wakes a thread of
    /// Swift's pool (a futex call) per task. A group of several is handed to one task instead,
    /// which resumes the others from inside the pool: one wake-up for the group.
    private func report(_ completions: [Completion], _ error: SessionStoreError?, group: Int) {
        guard completions.count > 1 else {
            completions.first?(error, group)
            return
        }
        Task.detached {
            for completion in completions { completion(error, group) }
        }
    }

    private func rollBack(_ connection: SQLiteConnection) {
        guard !connection.isAutocommit else { return }
        do {
            try connection.with(.rollback) { statement throws(SessionStoreError) in try statement.run("rolling back") }
        } catch {
            logger.error("rollback failed", metadata: ["error": "\(error)"])
        }
    }
}

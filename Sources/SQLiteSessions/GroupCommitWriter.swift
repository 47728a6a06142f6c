import Dispatch
import Foundation
import Logging
import Sessions
import Synchronization

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
    /// Called once the fate of an operation's transaction is known: nil after a commit, the error otherwise.
    typealias Completion = @Sendable (SessionStoreError?) -> Void

    /// One unit of work for the writer.
    struct Operation: Sendable {
        /// Runs the operation's statements inside the open transaction. Throwing rolls back just
        /// this operation; returning hands over what to do once the commit succeeds or fails.
        let perform: @Sendable (SQLiteConnection) throws(SessionStoreError) -> Completion
        /// Reports that the operation failed or will never run.
        let abandon: @Sendable (SessionStoreError) -> Void
        /// Run alone and outside any transaction (a checkpoint, VACUUM).
        var standalone = false
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

    /// Starts the writer thread and opens its connection there.
    ///
    /// - Parameters:
    ///   - maxBatchSize: The most operations one transaction takes.
    ///   - logger: Where failures of fire-and-forget operations are reported.
    ///   - open: Opens and prepares the connection (pragmas, migrations); runs on the writer thread.
    /// - Throws: Whatever `open` throws; the thread has then exited.
    init(
        maxBatchSize: Int,
        logger: Logger,
        open: @escaping @Sendable () throws(SessionStoreError) -> SQLiteConnection
    ) throws(SessionStoreError) {
        self.maxBatchSize = max(1, maxBatchSize)
        self.logger = logger
        let opened = Mutex<Result<Void, SessionStoreError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            let connection: SQLiteConnection
            do throws(SessionStoreError) {
                connection = try open()
                opened.withLock { $0 = .success(()) }
            } catch {
                opened.withLock { $0 = .failure(error) }
                ready.signal()
                self.finish()
                return
            }
            ready.signal()
            self.run(connection)
            // Close before reporting the exit, so whoever awaited close() finds the file released
            // and the WAL checkpointed.
            connection.close()
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
    func write<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws(SessionStoreError) -> T
    ) async throws(SessionStoreError) -> T {
        try await submit(body, standalone: false)
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
        standalone: Bool
    ) async throws(SessionStoreError) -> T {
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let operation = Operation(
                    perform: { connection throws(SessionStoreError) in
                        let value = try body(connection)
                        return { error in
                            if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: value) }
                        }
                    },
                    abandon: { continuation.resume(throwing: $0) },
                    standalone: standalone
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

    private func run(_ connection: SQLiteConnection) {
        while let batch = nextBatch() {
            if batch.count == 1, batch[0].standalone {
                runAlone(batch[0], on: connection)
                continue
            }
            var remaining = batch[...]
            while !remaining.isEmpty {
                remaining = runTransaction(remaining, on: connection)
            }
        }
    }

    private func runAlone(_ operation: Operation, on connection: SQLiteConnection) {
        do throws(SessionStoreError) {
            let completion = try operation.perform(connection)
            state.withLock { $0.stats.operations += 1 }
            completion(nil)
        } catch {
            operation.abandon(error)
        }
    }

    private func nextBatch() -> [Operation]? {
        while true {
            let batch = state.withLock { state -> [Operation]?? in
                if state.pending.isEmpty {
                    if state.closing { return .some(nil) }
                    state.sleeping = true
                    return .none
                }
                // A standalone operation runs by itself; a group stops before the next one.
                if state.pending[0].standalone { return [state.pending.removeFirst()] }
                let end = state.pending.prefix(maxBatchSize).firstIndex { $0.standalone } ?? min(state.pending.count, maxBatchSize)
                if end == state.pending.count {
                    defer { state.pending.removeAll(keepingCapacity: true) }
                    return state.pending
                }
                defer { state.pending.removeFirst(end) }
                return Array(state.pending.prefix(end))
            }
            switch batch {
            case .some(let batch): return batch
            case .none: wakeUp.wait()
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
    /// - Returns: The operations to run again because SQLite rolled the transaction back under them.
    private func runTransaction(_ operations: ArraySlice<Operation>, on connection: SQLiteConnection) -> ArraySlice<Operation> {
        do {
            try connection.with(.begin) { statement throws(SessionStoreError) in try statement.run("beginning a write transaction") }
        } catch {
            for operation in operations { operation.abandon(error) }
            return []
        }
        let isolated = operations.count > 1
        var completions: [Completion] = []
        completions.reserveCapacity(operations.count)
        var performed: [Operation] = []
        performed.reserveCapacity(operations.count)

        for index in operations.indices {
            let operation = operations[index]
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
                    return ArraySlice(performed) + operations[(index + 1)...]
                }
                do throws(SessionStoreError) {
                    guard isolated else { throw error }
                    try connection.with(.rollbackToSavepoint) { statement throws(SessionStoreError) in try statement.run("rolling back a savepoint") }
                    try connection.with(.releaseSavepoint) { statement throws(SessionStoreError) in try statement.run("releasing a savepoint") }
                    operation.abandon(error)
                } catch let rollbackError {
                    rollBack(connection)
                    operation.abandon(error)
                    if isolated {
                        for other in performed { other.abandon(rollbackError) }
                        for other in operations[(index + 1)...] { other.abandon(rollbackError) }
                    }
                    return []
                }
            }
        }

        do {
            try connection.with(.commit) { statement throws(SessionStoreError) in try statement.run("committing") }
        } catch {
            rollBack(connection)
            for completion in completions { completion(error) }
            return []
        }
        state.withLock { state in
            state.stats.transactions += 1
            state.stats.operations += performed.count
            state.stats.largestBatch = max(state.stats.largestBatch, performed.count)
        }
        for completion in completions { completion(nil) }
        return []
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

import CSQLite
import Dispatch
import Foundation
import Logging
import Sessions
import Synchronization

/// Copies the write-ahead log back into the database file on a thread and connection of its own,
/// so that no commit waits for a checkpoint.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the log past 1000 pages: that
/// commit, and every caller grouped into it, waits while pages are copied and the file fsynced.
/// The writer's connection instead reports the log's size after each commit
/// (``SQLiteConnection/trackWriteAheadLog()``) and asks this thread for a passive checkpoint,
/// which runs beside new commits ("PASSIVE: checkpoint as many frames as possible without waiting
/// for any database readers or writers to finish", <https://www.sqlite.org/c3ref/wal_checkpoint_v2.html>).
/// The next transaction after a complete checkpoint starts the log over from the beginning.
final class WALCheckpointer: Sendable {
    /// Log size, in pages, from which a checkpoint is asked for: SQLite's own default.
    static let threshold = 1000

    /// Log size from which a checkpoint also starts the log over.
    ///
    /// SQLite starts the log from the beginning only at a write after it was copied entirely,
    /// which a passive checkpoint never achieves while writes keep coming: the log would grow
    /// without end. Past this size the checkpointer copies the rest in `RESTART` mode, which
    /// holds new writes back for as long as copying what came since the passive pass takes.
    static let restartThreshold = 8 * threshold

    /// Log size from which a checkpoint is asked for when the writer falls idle: readers find
    /// pages faster in a log that has been copied back entirely (they then skip it).
    static let idleThreshold = 128

    /// How long to wait before trying again when readers kept part of the log from being copied.
    static let retryDelay: DispatchTimeInterval = .milliseconds(20)

    private struct State {
        var requested = false
        var closing = false
        var exited = false
        var checkpoints = 0
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let logger: Logger

    /// Starts the thread and opens its connection there.
    ///
    /// - Throws: Whatever `open` throws; the thread has then exited.
    init(logger: Logger, open: @escaping @Sendable () throws(SessionStoreError) -> SQLiteConnection) throws(SessionStoreError) {
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
                self.exited.signal()
                return
            }
            ready.signal()
            self.run(connection)
            connection.close()
            self.exited.signal()
        }
        thread.name = "sessions-checkpointer"
        thread.start()
        ready.wait()
        if case .failure(let error) = opened.withLock({ $0 }) { throw error }
    }

    /// Checkpoints completed so far.
    var checkpoints: Int { state.withLock { $0.checkpoints } }

    /// Asks for a checkpoint soon; requests made while one runs are served by the next one.
    func request() {
        let wake = state.withLock { state -> Bool in
            guard !state.requested, !state.closing else { return false }
            state.requested = true
            return true
        }
        if wake { wakeUp.signal() }
    }

    /// Stops the thread and closes its connection; returns once it has. Closing twice is harmless.
    func close() {
        let first = state.withLock { state -> Bool in
            defer { state.closing = true }
            return !state.closing
        }
        guard first else { return }
        wakeUp.signal()
        exited.wait()
    }

    private func run(_ connection: SQLiteConnection) {
        var incomplete = false
        var lastCopied: Int32 = -1
        var progressed = false
        while true {
            // A checkpoint that fell behind new commits goes on at once; one that readers held
            // back (nothing more copied) is tried again shortly; request or not.
            if incomplete && !progressed {
                _ = wakeUp.wait(timeout: .now() + Self.retryDelay)
            } else if !incomplete {
                wakeUp.wait()
            }
            let proceed = state.withLock { state -> Bool in
                state.requested = false
                return !state.closing
            }
            guard proceed else { return }
            var logFrames: Int32 = 0
            var copied: Int32 = 0
            var code = sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copied)
            if code == SQLITE_OK, logFrames >= Self.restartThreshold {
                code = sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_RESTART, &logFrames, &copied)
            }
            incomplete = code == SQLITE_BUSY || (code == SQLITE_OK && copied < logFrames)
            progressed = code == SQLITE_OK && copied > lastCopied
            lastCopied = incomplete ? copied : -1
            if code == SQLITE_OK || code == SQLITE_BUSY {
                state.withLock { $0.checkpoints += 1 }
            } else {
                logger.warning(
                    "a background WAL checkpoint failed; the log grows until the next one succeeds",
                    metadata: ["code": "\(code)", "message": "\(String(cString: sqlite3_errmsg(connection.handle)))"]
                )
            }
        }
    }
}

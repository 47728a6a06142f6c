import Sessions
import Synchronization

/// Connections for reading, lent to one caller at a time.
///
/// Reads run inline on the calling thread: a primary-key lookup on cached pages costs a few
/// microseconds, less than any hop to another thread. WAL lets these connections read while the
/// writer writes. When every idle connection is in use, another one is opened; at most
/// `capacity` are kept idle afterwards.
final class ReaderPool: Sendable {
    private struct State {
        var idle: [PooledConnection] = []
        var closed = false
        var opened = 0
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let open: @Sendable () throws(SessionStoreError) -> SQLiteConnection

    init(capacity: Int, open: @escaping @Sendable () throws(SessionStoreError) -> SQLiteConnection) {
        self.capacity = max(1, capacity)
        self.open = open
    }

    /// Connections opened so far, including ones since closed.
    var openedCount: Int { state.withLock { $0.opened } }

    /// Runs `body` with a connection of its own.
    func read<T>(_ body: (SQLiteConnection) throws(SessionStoreError) -> T) throws(SessionStoreError) -> T {
        let lease = try acquire()
        defer { release(lease) }
        return try body(lease.connection)
    }

    /// Closes the idle connections; connections in use close when returned. Later reads throw.
    func close() {
        state.withLock { state in
            state.closed = true
            state.idle.removeAll()
        }
    }

    private func acquire() throws(SessionStoreError) -> PooledConnection {
        let reused = try state.withLock { state throws(SessionStoreError) -> PooledConnection? in
            guard !state.closed else { throw SessionStoreError(.closed, "the SQLite session store was closed") }
            return state.idle.popLast()
        }
        if let reused { return reused }
        let connection = PooledConnection(try open())
        state.withLock { $0.opened += 1 }
        return connection
    }

    private func release(_ lease: PooledConnection) {
        state.withLock { state in
            guard !state.closed, state.idle.count < capacity else { return }
            state.idle.append(lease)
        }
    }
}

/// A reader connection while it moves between the pool and one borrower.
///
/// `@unchecked Sendable` is safe because the pool gives each connection to exactly one borrower
/// at a time: it is reachable either from the pool's idle list, only under the pool's lock, or
/// from the one caller that took it out, until that caller puts it back. SQLite allows a
/// connection opened with `SQLITE_OPEN_NOMUTEX` to move between threads as long as no two threads
/// use it at once (<https://www.sqlite.org/threadsafe.html>, "multi-thread" mode).
final class PooledConnection: @unchecked Sendable {
    let connection: SQLiteConnection

    init(_ connection: SQLiteConnection) {
        self.connection = connection
    }
}

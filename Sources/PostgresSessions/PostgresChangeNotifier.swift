#if Postgres
import Logging
import PostgresNIO
import Sessions
import Synchronization

/// Announces this store's changes to the other hosts' caches (`NOTIFY sessions_changes`) after
/// the writes commit, in batches.
///
/// Not from the triggers, for speed: PostgreSQL serializes the commits of transactions that
/// notify (one lock on the notification queue, held through the WAL flush), so a NOTIFY in every
/// write would cap the whole database's session writes at one flush each. Here a write hands its
/// change over and returns; one statement at a time carries every change handed over meanwhile,
/// in a transaction that writes nothing durable and does not wait for a flush
/// (`synchronous_commit` off for it alone). A notification lost to a crash between a commit and
/// its batch is what the followers' poll of the change log is there for, as for any
/// notification a listener misses while it reconnects.
final class PostgresChangeNotifier: Sendable {
    private struct State {
        var pending: [String] = []
        var sending = false
        /// Callers of ``flush(within:)`` waiting for the queue to empty, by a key of their own.
        var idle: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextKey = 0
    }

    /// The most changes one statement carries.
    static let batchLimit = 1000

    private let client: PostgresClient
    private let origin: Int64
    private let logger: Logger
    private let state = Mutex(State())

    init(client: PostgresClient, origin: Int64, logger: Logger) {
        self.client = client
        self.origin = origin
        self.logger = logger
    }

    /// Hands over a committed change: `kind` happened to the session behind `hash`.
    func announce(_ kind: SessionChange.Kind, _ hash: TokenHash) {
        announce([(kind, hash)])
    }

    /// Hands over several committed changes.
    func announce(_ changes: [(SessionChange.Kind, TokenHash)]) {
        guard !changes.isEmpty else { return }
        let payloads = changes.map { "\($0.0.rawValue) \($0.1.hex) \(origin)" }
        let start = state.withLock { state in
            state.pending += payloads
            guard !state.sending else { return false }
            state.sending = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    /// Returns once every change handed over before has been sent (or failed to be), or once
    /// `limit` has passed, whichever comes first: a server that does not answer never holds up
    /// the caller (the other hosts' polls bring what was not sent).
    func flush(within limit: Duration) async {
        await withCheckedContinuation { continuation in
            let key: Int? = state.withLock { state in
                guard state.sending else { return nil }
                state.nextKey += 1
                state.idle[state.nextKey] = continuation
                return state.nextKey
            }
            guard let key else { return continuation.resume() }
            Task {
                try? await Task.sleep(for: limit)
                // Whoever removes the continuation resumes it: this timer or the drain.
                self.state.withLock { $0.idle.removeValue(forKey: key) }?.resume()
            }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [String]? in
                guard !state.pending.isEmpty else { return nil }
                let batch = Array(state.pending.prefix(Self.batchLimit))
                state.pending.removeFirst(batch.count)
                return batch
            }
            guard let batch else {
                let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                    // A change handed over just now found `sending` still set: take it too.
                    guard state.pending.isEmpty else { return nil }
                    state.sending = false
                    defer { state.idle = [:] }
                    return Array(state.idle.values)
                }
                guard let waiting else { continue }
                for continuation in waiting { continuation.resume() }
                return
            }
            do {
                _ = try await client.query(
                    """
                    SELECT count(pg_notify('sessions_changes', payload))
                    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed, unnest(\(batch)::text[]) AS payload
                    """,
                    logger: logger
                )
            } catch {
                // The other hosts' polls of the change log deliver these changes instead.
                logger.debug("announcing session changes failed; other hosts read them from the change log", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }
}
#endif

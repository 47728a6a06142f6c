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
        var idle: [CheckedContinuation<Void, Never>] = []
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

    /// Returns once every change handed over before has been sent (or failed to be).
    func flush() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                guard state.sending else { return true }
                state.idle.append(continuation)
                return false
            }
            if done { continuation.resume() }
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
                    defer { state.idle = [] }
                    return state.idle
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
                logger.debug("announcing session changes failed; other hosts read them from the change log", metadata: ["error": "\(error)"])
            }
        }
    }
}
#endif

#if Postgres
import Foundation
import Logging
import PostgresNIO
import Sessions
import Synchronization

/// Tells this store's caches what other hosts changed: `LISTEN sessions_changes` for speed, a
/// poll of `session_changes` for safety.
///
/// A notification names the change's kind and token hash, so a cache drops the session (or,
/// for a removed token, refuses it) as soon as the writer commits. `NOTIFY` is at-most-once
/// (nothing is queued while the listener reconnects), so every ``pollInterval`` the log is read
/// from the last position too. Sequence numbers are handed out before commit, so a later number
/// can commit first: a number skipped over is asked for again for a while, not given up on.
/// When the log was trimmed past this host's position, its caches start empty.
final class PostgresChangeFollower: Sendable {
    private struct Position {
        /// The highest sequence number read.
        var last: Int64?
        /// Numbers below `last` not seen yet (their transaction may still commit), with the
        /// monotonic time after which they are given up.
        var gaps: [Int64: ContinuousClock.Instant] = [:]
    }

    /// How long a skipped sequence number is looked for again.
    static let gapPatience: Duration = .seconds(10)
    /// The most skipped numbers tracked; beyond them the caches are cleared instead.
    static let maxGaps = 10_000

    private let client: PostgresClient
    private let schema: SchemaGate
    private let origin: Int64
    private let listeners: SessionChangeListeners
    private let pollInterval: Duration
    private let logger: Logger
    private let position = Mutex(Position())

    init(client: PostgresClient, schema: SchemaGate, origin: Int64, listeners: SessionChangeListeners, pollInterval: Duration, logger: Logger) {
        self.client = client
        self.schema = schema
        self.origin = origin
        self.listeners = listeners
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Listens and polls until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listen() }
            group.addTask { await self.poll() }
        }
    }

    private func listen() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await schema.ready()
                try await client.withConnection { connection in
                    // Waiting for notifications does not end on cancellation by itself, and the
                    // pool's run() waits for this lease: closing the connection ends both.
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: "sessions_changes") { notifications in
                            failures = 0
                            for try await notification in notifications {
                                self.apply(notification: notification.payload)
                            }
                        }
                    } onCancel: {
                        connection.close().whenComplete { _ in }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 {
                    logger.warning("listening for session changes failed; the change log is still polled", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            // Back off up to the poll interval; the poll covers what is missed meanwhile.
            try? await Task.sleep(for: min(pollInterval, .milliseconds(100 * min(failures, 10))))
        }
    }

    private func poll() async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await catchUp()
                if failing { logger.notice("reading the session change log works again") }
                failing = false
            } catch {
                if Task.isCancelled { return }
                if !failing {
                    logger.warning("reading the session change log failed; caches will start over once it works", metadata: ["error": "\(error)"])
                    // What changed meanwhile is unknown: nothing in memory can be trusted.
                    listeners.notify(.reset)
                }
                failing = true
            }
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// Applies one notification's payload: `<kind> <token hash hex> <origin or ->`.
    private func apply(notification payload: String) {
        let parts = payload.split(separator: " ")
        guard parts.count == 3, let kind = SessionChange.Kind(rawValue: String(parts[0])), let hash = TokenHash(hex: parts[1]) else {
            logger.debug("ignored a notification that is not a session change", metadata: ["payload": "\(payload.prefix(100))"])
            return
        }
        guard Int64(parts[2]) != origin else { return }
        hint(kind, hash)
    }

    private func hint(_ kind: SessionChange.Kind, _ hash: TokenHash) {
        let change = SessionChange(sequence: 0, sessionID: nil, tokenHash: hash, userID: nil, kind: kind, at: SessionInstant(millisecondsSince1970: 0), origin: nil)
        listeners.notify(change.removesToken ? .revoked(hash) : .stale(hash))
    }

    /// Reads the log past the last position (and the numbers skipped over) and applies it.
    func catchUp() async throws(SessionStoreError) {
        try await schema.ready()
        let (last, gaps) = position.withLock { position in
            let now = ContinuousClock.now
            position.gaps = position.gaps.filter { $0.value > now }
            return (position.last, Array(position.gaps.keys))
        }
        guard let last else {
            // The first round: caches start empty, so only the position matters.
            let top = try await query("SELECT coalesce(max(seq), 0) FROM session_changes") { try $0.decode(Int64.self) }.first ?? 0
            position.withLock { $0.last = top }
            return
        }
        let changes = try await query(
            """
            SELECT seq, kind, token_hash, coalesce(origin, 0) FROM session_changes
            WHERE seq > \(last) OR seq = ANY(\(gaps)) ORDER BY seq LIMIT 10000
            """
        ) { row in try row.decode((Int64, String, Data, Int64).self) }
        if changes.isEmpty {
            // Trimmed past this position (a long outage), the log cannot say what was missed.
            let oldest = try await query("SELECT min(seq) FROM session_changes") { try $0.decode(Int64?.self) }.first ?? nil
            if let oldest, oldest > last + 1 {
                logger.notice("the session change log was trimmed past this host's position; caches start empty")
                listeners.notify(.reset)
                position.withLock { $0 = Position(last: oldest - 1) }
            }
            return
        }
        var overflow = false
        position.withLock { position in
            let patience = ContinuousClock.now + Self.gapPatience
            for (sequence, _, _, _) in changes {
                position.gaps[sequence] = nil
                if let previous = position.last, sequence > previous {
                    for missing in (previous + 1)..<min(sequence, previous + 1 + Int64(Self.maxGaps)) where position.gaps.count < Self.maxGaps {
                        position.gaps[missing] = patience
                    }
                    overflow = overflow || position.gaps.count >= Self.maxGaps
                    position.last = sequence
                }
            }
        }
        for (_, kind, hashBytes, changeOrigin) in changes where changeOrigin != origin {
            guard let kind = SessionChange.Kind(rawValue: kind), let hash = TokenHash(bytes: Array(hashBytes)) else { continue }
            hint(kind, hash)
        }
        if overflow {
            listeners.notify(.reset)
            position.withLock { $0.gaps = [:] }
        }
    }

    private func query<Row>(_ sql: PostgresQuery, decode: (PostgresRow) throws -> Row) async throws(SessionStoreError) -> [Row] {
        try await PostgresErrors.mapping("reading the session change log") {
            var rows: [Row] = []
            for try await row in try await client.query(sql, logger: logger) { rows.append(try decode(row)) }
            return rows
        }
    }
}
#endif

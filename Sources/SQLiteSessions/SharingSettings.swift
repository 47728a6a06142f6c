package import Sessions
import Synchronization

/// Whether a ``SQLiteSessionStore`` shares its sessions with other hosts, and so must remember
/// what it deleted.
///
/// While sharing, every deletion of a token (deleted, revoked, rotated away, evicted) leaves a
/// row in `session_tombstones`, and "log out everywhere" a row in `user_revocations`, written in
/// the same transaction. A copy of such a session that arrives later, from another host or from
/// Redis, is refused, so a revocation is never undone. A purge removes them once they cannot
/// matter: a tombstone at its session's absolute deadline (it could not have lived longer), or
/// ``retention`` after the deletion for a session with an idle timeout only.
package final class SharingSettings: Sendable {
    private let state = Mutex<Duration?>(nil)

    /// How long a deletion of a session without an absolute deadline is remembered, unless
    /// configured otherwise: a host cut off for longer may bring such a session back.
    package static let defaultRetention: Duration = .seconds(7 * 86_400)

    package init() {}

    /// How long a deletion is remembered when the session has no absolute deadline, or nil
    /// while the store shares nothing.
    package var retention: Duration? {
        state.withLock { $0 }
    }

    /// Starts remembering deletions.
    package func enable(retention: Duration) {
        state.withLock { $0 = retention }
    }

    /// Until when a token of `session`, deleted at `now`, must stay refused.
    package static func tombstoneUntil(_ session: Session, deletedAt now: SessionInstant, retention: Duration) -> SessionInstant {
        if let absolute = session.deadlines.absoluteExpiresAt { return max(absolute, now) }
        return max(session.expiresAt, now) + retention
    }
}

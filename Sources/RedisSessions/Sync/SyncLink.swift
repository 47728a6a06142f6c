import Sessions
import Synchronization

/// Whether this host can reach Redis right now, as its replicator, stream follower and
/// compare-and-set writes last found it.
///
/// A write that must ask Redis first (a save's compare-and-set) does so only while the link is
/// up; while it is down the write goes to the local file at once and is settled later by the
/// clock rule, so a host cut off from Redis serves at local speed instead of waiting out a
/// timeout on every request.
final class SyncLink: Sendable {
    private struct State {
        var up = true
        var since = ContinuousClock.now
        var lastContact: ContinuousClock.Instant?
        var lastError: String?
    }

    private let state = Mutex(State())

    /// Whether the last exchange with Redis succeeded.
    var isUp: Bool { state.withLock { $0.up } }

    /// When Redis last answered, if it ever did.
    var lastContact: ContinuousClock.Instant? { state.withLock { $0.lastContact } }

    /// The last failure while the link is down.
    var lastError: String? { state.withLock { $0.up ? nil : $0.lastError } }

    /// Redis answered.
    func succeeded() {
        state.withLock { state in
            if !state.up { state.since = .now }
            state.up = true
            state.lastContact = .now
            state.lastError = nil
        }
    }

    /// Redis could not be reached or did not answer in time.
    func failed(_ error: any Error) {
        state.withLock { state in
            if state.up { state.since = .now }
            state.up = false
            state.lastError = "\(error)"
        }
    }

    /// How long the link has been down; zero while it is up.
    var downFor: Duration {
        state.withLock { $0.up ? .zero : ContinuousClock.now - $0.since }
    }
}

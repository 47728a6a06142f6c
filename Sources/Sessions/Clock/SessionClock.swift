#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The source of wall-clock time for every expiry decision a store makes.
///
/// Stores take a clock so tests can move time by hand (``ManualSessionClock``) instead of sleeping.
/// Deadlines are wall-clock instants because they are persisted and shared between processes and
/// hosts; a monotonic clock would mean nothing to another process.
public protocol SessionClock: Sendable {
    /// The current time.
    var now: SessionInstant { get }
}

/// The system's real-time clock (`CLOCK_REALTIME`).
public struct SystemSessionClock: SessionClock {
    /// Creates a clock that reads the system time.
    public init() {}

    public var now: SessionInstant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return SessionInstant(millisecondsSince1970: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// A clock that only moves when told to; for tests and simulations.
public final class ManualSessionClock: SessionClock {
    private let current: Mutex<SessionInstant>

    /// Creates a clock stopped at `start`.
    public init(_ start: SessionInstant = SessionInstant(millisecondsSince1970: 1_767_225_600_000)) {
        self.current = Mutex(start)
    }

    public var now: SessionInstant {
        current.withLock { $0 }
    }

    /// Moves the clock forward (or backward, for a negative duration).
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }

    /// Sets the clock to `instant`.
    public func set(_ instant: SessionInstant) {
        current.withLock { $0 = instant }
    }
}

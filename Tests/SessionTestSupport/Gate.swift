import Synchronization

/// Holds a request inside its handler until the test lets it go, so a test can line up a race
/// (a logout while a save waits, two saves of one session) without sleeping.
public final class Gate: Sendable {
    private let state = Mutex<(entered: Bool, released: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, false, []))

    public init() {}

    /// Marks the gate entered and waits for ``release()`` (at once when it came already).
    public func enterAndWait() async {
        await withCheckedContinuation { continuation in
            state.withLock { state in
                state.entered = true
                if state.released { continuation.resume() } else { state.waiters.append(continuation) }
            }
        }
    }

    /// Whether a request has reached the gate.
    public var entered: Bool { state.withLock { $0.entered } }

    /// Lets every waiting request, and any that comes later, go on.
    public func release() {
        let waiters = state.withLock { state in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

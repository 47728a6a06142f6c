import Synchronization

/// Counts work in flight and lets callers wait for it to drain, or for just the work started
/// before they asked (which new work cannot postpone).
final class PendingWork: Sendable {
    private struct State {
        var nextTicket: UInt64 = 0
        var running: Set<UInt64> = []
        /// Each waits until no work with a ticket below its bound runs.
        var waiters: [(bound: UInt64, continuation: CheckedContinuation<Void, Never>)] = []

        func isDone(below bound: UInt64) -> Bool {
            running.allSatisfy { $0 >= bound }
        }
    }

    private let state = Mutex(State())

    /// Registers work; pass the ticket to ``end(_:)``.
    func begin() -> UInt64 {
        state.withLock { state in
            defer { state.nextTicket += 1 }
            state.running.insert(state.nextTicket)
            return state.nextTicket
        }
    }

    func end(_ ticket: UInt64) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running.remove(ticket)
            guard !state.waiters.isEmpty else { return [] }
            var ready: [CheckedContinuation<Void, Never>] = []
            var waiting: [(bound: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
            for waiter in state.waiters {
                if state.isDone(below: waiter.bound) { ready.append(waiter.continuation) } else { waiting.append(waiter) }
            }
            state.waiters = waiting
            return ready
        }
        for waiter in ready { waiter.resume() }
    }

    /// Waits until everything begun so far has ended; work begun meanwhile is not waited for.
    func waitForWorkBegunSoFar() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.isDone(below: state.nextTicket) { return true }
                state.waiters.append((state.nextTicket, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }
}

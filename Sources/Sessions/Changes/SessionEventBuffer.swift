import Logging
import Synchronization

/// The bounded buffer between a stream's poller and its one consumer.
final class SessionEventBuffer: Sendable {
    private struct State {
        var events: [SessionEvent] = []
        /// Index in `events` of the next event to hand out.
        var head = 0
        /// Dropped since the last event that was buffered.
        var droppedSinceLast = 0
        var totalDropped = 0
        var waiter: CheckedContinuation<SessionEvent?, any Error>?
        var finished = false
        var failure: (any Error)?

        var count: Int { events.count - head }

        mutating func pop() -> SessionEvent? {
            guard head < events.count else { return nil }
            let event = events[head]
            head += 1
            if head == events.count {
                events.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= events.count {
                events.removeFirst(head)
                head = 0
            }
            return event
        }
    }

    private let capacity: Int
    private let logger: Logger
    private let state = Mutex(State())

    init(capacity: Int, logger: Logger) {
        self.capacity = capacity
        self.logger = logger
    }

    var totalDropped: Int { state.withLock { $0.totalDropped } }

    func push(_ events: [SessionEvent]) {
        guard !events.isEmpty else { return }
        let (waiting, dropped) = state.withLock { state in
            var waiting: (CheckedContinuation<SessionEvent?, any Error>, SessionEvent)?
            var dropped = 0
            for var event in events {
                guard state.waiter != nil || state.count < capacity else {
                    state.droppedSinceLast += 1
                    state.totalDropped += 1
                    dropped += 1
                    continue
                }
                event.droppedBefore = state.droppedSinceLast
                state.droppedSinceLast = 0
                if let waiter = state.waiter {
                    // The consumer is parked on an empty buffer: hand it this event directly.
                    state.waiter = nil
                    waiting = (waiter, event)
                } else {
                    state.events.append(event)
                }
            }
            return (waiting, dropped)
        }
        waiting.map { $0.0.resume(returning: $0.1) }
        if dropped > 0 {
            logger.warning(
                "session event consumer is behind; dropped events",
                metadata: ["dropped": "\(dropped)", "through_sequence": "\(events[events.count - 1].sequence)", "buffer": "\(capacity)"]
            )
        }
    }

    /// Counts a gap in the log (entries trimmed before the stream read them) as one drop.
    func noteMissed() {
        state.withLock { state in
            state.droppedSinceLast += 1
            state.totalDropped += 1
        }
        logger.warning("session change log was trimmed before the event stream read it; events were missed")
    }

    func finish(throwing error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<SessionEvent?, any Error>? in
            guard !state.finished else { return nil }
            state.finished = true
            // A parked consumer means the buffer is empty: it gets the end (or the error) now.
            guard let waiter = state.waiter else {
                state.failure = error
                return nil
            }
            state.waiter = nil
            return waiter
        }
        guard let waiter else { return }
        if let error {
            waiter.resume(throwing: error)
        } else {
            waiter.resume(returning: nil)
        }
    }

    func next() async throws -> SessionEvent? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SessionEvent?, any Error>) in
                let ready: Result<SessionEvent?, any Error>? = state.withLock { state in
                    if let event = state.pop() { return .success(event) }
                    if state.finished {
                        if let failure = state.failure {
                            state.failure = nil
                            return .failure(failure)
                        }
                        return .success(nil)
                    }
                    if Task.isCancelled { return .success(nil) }
                    precondition(state.waiter == nil, "a SessionEventStream is iterated from one task at a time")
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

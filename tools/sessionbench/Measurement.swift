import Synchronization

/// Runs an operation repeatedly from several tasks for a fixed time and records each latency.
enum Measurement {
    struct Outcome: Sendable {
        var operations: Int
        var elapsed: Duration
        var latencies: LatencyRecorder
    }

    /// Runs `operation` from `concurrency` tasks until `duration` has passed or `limit` operations ran.
    ///
    /// - Parameter operation: Called with the task number and that task's iteration number.
    static func run(
        concurrency: Int,
        duration: Duration,
        limit: Int = .max,
        _ operation: @escaping @Sendable (_ task: Int, _ iteration: Int) async throws -> Void
    ) async throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + duration
        let issued = IssueCounter()
        let latencies = try await withThrowingTaskGroup(of: LatencyRecorder.self) { group in
            for task in 0..<concurrency {
                group.addTask {
                    var recorder = LatencyRecorder()
                    var iteration = 0
                    while issued.take(limit: limit) {
                        let before = clock.now
                        try await operation(task, iteration)
                        let after = clock.now
                        recorder.record(after - before)
                        iteration += 1
                        if after >= deadline { break }
                    }
                    return recorder
                }
            }
            return try await group.reduce(into: LatencyRecorder(capacity: 0)) { $0.merge($1) }
        }
        return Outcome(operations: latencies.count, elapsed: clock.now - start, latencies: latencies)
    }
}

/// Hands out at most `limit` operations across tasks.
final class IssueCounter: Sendable {
    private let count = Atomic<Int>(0)

    func take(limit: Int) -> Bool {
        count.add(1, ordering: .relaxed).newValue <= limit
    }
}

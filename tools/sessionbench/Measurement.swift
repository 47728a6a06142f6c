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
    /// - Parameters:
    ///   - sampleEvery: Time every n-th operation on its own (1: all of them). For operations of a
    ///     few hundred nanoseconds, timing each one would measure the clock; sampling keeps the
    ///     throughput honest and the percentiles unbiased.
    ///   - operation: Called with the task number and that task's iteration number.
    static func run(
        concurrency: Int,
        duration: Duration,
        limit: Int = .max,
        sampleEvery: Int = 1,
        _ operation: @escaping @Sendable (_ task: Int, _ iteration: Int) async throws -> Void
    ) async throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + duration
        let issued = IssueCounter()
        let counts = try await withThrowingTaskGroup(of: (Int, LatencyRecorder).self) { group in
            for task in 0..<concurrency {
                group.addTask {
                    var recorder = LatencyRecorder()
                    var iteration = 0
                    while limit == .max || issued.take(limit: limit) {
                        if iteration % sampleEvery == 0 {
                            let before = clock.now
                            try await operation(task, iteration)
                            let after = clock.now
                            recorder.record(after - before)
                            iteration += 1
                            if after >= deadline { break }
                        } else {
                            try await operation(task, iteration)
                            iteration += 1
                        }
                    }
                    return (iteration, recorder)
                }
            }
            return try await group.reduce(into: (0, LatencyRecorder(capacity: 0))) { total, next in
                total.0 += next.0
                total.1.merge(next.1)
            }
        }
        return Outcome(operations: counts.0, elapsed: clock.now - start, latencies: counts.1)
    }
}

/// Hands out at most `limit` operations across tasks.
final class IssueCounter: Sendable {
    private let count = Atomic<Int>(0)

    func take(limit: Int) -> Bool {
        count.add(1, ordering: .relaxed).newValue <= limit
    }
}

import Sessions

/// Runs an operation with a time limit.
enum Deadline {
    /// Runs `operation`, cancelling it and throwing `SessionStoreError.Code.timeout` if
    /// it has not finished within `duration`.
    static func run<T: Sendable>(within duration: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: duration)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw SessionStoreError(.timeout, "Redis did not answer within \(duration)")
            }
            return value
        }
    }
}

public import Testing

/// Polls `condition` every 20 ms for up to 30 s: for effects that happen in the background
/// (replication, an event stream's poller). A generous limit, not a timing assertion.
public func waitUntil(
    _ what: String = "condition",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    for _ in 0..<1500 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("\(what) not met within 30 s", sourceLocation: sourceLocation)
    throw CancellationError()
}

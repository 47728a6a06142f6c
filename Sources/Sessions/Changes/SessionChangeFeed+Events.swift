public import Logging

extension SessionChangeFeed {
    /// The events of this store and of every other process writing the same data, from now on.
    ///
    /// ```swift
    /// for try await event in try store.events() where event.kind == .revoked {
    ///     audit.log("user \(event.userID ?? "-") signed out everywhere")
    /// }
    /// ```
    ///
    /// A task of its own follows the change log (for SQLite, one `PRAGMA data_version` per
    /// `pollInterval` while nothing changes) and fills a buffer of `bufferSize` events. The store
    /// never waits for the consumer: when the buffer is full, new events are dropped, counted
    /// in ``SessionEventStream/dropped`` and in the next delivered event's
    /// ``SessionEvent/droppedBefore``, and logged. Iterate from one task; make one stream per consumer.
    /// The stream follows the log until it is released, ``SessionEventStream/finish()`` is called,
    /// or reading the log fails (the error ends the iteration).
    public func events(
        bufferSize: Int = 4096,
        pollInterval: Duration = .milliseconds(20),
        logger: Logger = Logger(label: "sessions.events")
    ) throws -> SessionEventStream {
        guard bufferSize > 0 else {
            throw SessionStoreError(.invalidArgument, "an event stream needs a buffer of at least 1 event, not \(bufferSize)")
        }
        guard pollInterval > .zero else {
            throw SessionStoreError(.invalidArgument, "an event stream's poll interval must be positive, not \(pollInterval)")
        }
        return SessionEventStream(reader: try makeChangeReader(), bufferSize: bufferSize, pollInterval: pollInterval, logger: logger)
    }
}

import Logging

/// Session events as an `AsyncSequence`; see ``SessionChangeFeed/events(bufferSize:pollInterval:logger:)``.
public final class SessionEventStream: AsyncSequence, Sendable {
    public typealias Element = SessionEvent

    private let buffer: SessionEventBuffer
    private let poller: Task<Void, Never>

    init(reader: sending any SessionChangeReader, bufferSize: Int, pollInterval: Duration, logger: Logger) {
        let buffer = SessionEventBuffer(capacity: bufferSize, logger: logger)
        self.buffer = buffer
        self.poller = Task {
            var events = SessionEventAssembler()
            while !Task.isCancelled {
                let batch: SessionChangeBatch
                do {
                    batch = try reader.readChanges()
                } catch {
                    buffer.finish(throwing: error)
                    return
                }
                if batch.missedChanges { buffer.noteMissed() }
                buffer.push(events.events(from: batch.changes))
                guard batch.changes.isEmpty else { continue }
                do {
                    try await Task.sleep(for: pollInterval)
                } catch {
                    break
                }
            }
            buffer.finish(throwing: nil)
        }
    }

    deinit {
        poller.cancel()
    }

    /// Events dropped so far because the consumer fell behind, plus gaps where the change log
    /// was trimmed before the stream read it.
    public var dropped: Int { buffer.totalDropped }

    /// Stops following the log; iteration ends after the events already buffered.
    public func finish() {
        poller.cancel()
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(stream: self)
    }

    /// The iterator of a ``SessionEventStream``: hands out its buffered events in order, waiting
    /// for the next one when none is buffered. A stream has one consumer: iterate it from one task
    /// at a time.
    public struct Iterator: AsyncIteratorProtocol {
        // Holds the stream so the poller runs as long as someone iterates.
        let stream: SessionEventStream

        public mutating func next() async throws -> SessionEvent? {
            try await stream.buffer.next()
        }
    }
}

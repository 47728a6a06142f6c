public import Logging
import Synchronization

/// Something that happened to a session, as an event stream reports it
/// (``SessionChangeFeed/events(bufferSize:pollInterval:logger:)``).
public struct SessionEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A session was created.
        case created
        /// Its data, user, metadata or expiry changed.
        case updated
        /// A use was persisted (sliding expiry). Uses that are not persisted (within
        /// ``SessionPolicy/touchInterval`` of the last one) make no event.
        case touched
        /// It got a new token; ``SessionEvent/previousTokenHash`` no longer works.
        case rotated
        /// It was deleted by its token.
        case deleted
        /// It was deleted with all of its user's sessions.
        case revoked
        /// A purge removed it after it expired.
        case expired
        /// A new session pushed it out: one of the same user's (``SessionPolicy/maxSessionsPerUser``),
        /// or any, in a store that was full (``InMemorySessionStore/maxSessions``).
        case evicted
        /// A message was appended to its log; ``SessionEvent/messageID`` names it.
        case appended
    }

    /// What happened.
    public var kind: Kind
    /// The session's stable id, when known.
    public var sessionID: Int64?
    /// The session's token hash (after rotation: the new one).
    public var tokenHash: TokenHash
    /// For ``Kind/rotated``: the hash of the token that stopped working.
    public var previousTokenHash: TokenHash?
    /// The session's user at the time.
    public var userID: String?
    /// When it happened.
    public var at: SessionInstant
    /// The position in the store's change log.
    public var sequence: Int64
    /// The store instance that made the change (``SessionChangeFeed/changeOrigin``); nil when it
    /// was made outside the library, with the `sqlite3` shell for instance.
    public var origin: Int64?
    /// How many events the stream dropped just before this one because its consumer fell
    /// behind (the buffer was full). 0 normally.
    public var droppedBefore: Int
    /// For ``Kind/appended``: the message's id.
    public var messageID: Int64?

    public init(
        kind: Kind,
        sessionID: Int64?,
        tokenHash: TokenHash,
        previousTokenHash: TokenHash? = nil,
        userID: String?,
        at: SessionInstant,
        sequence: Int64,
        origin: Int64?,
        droppedBefore: Int = 0,
        messageID: Int64? = nil
    ) {
        self.kind = kind
        self.sessionID = sessionID
        self.tokenHash = tokenHash
        self.previousTokenHash = previousTokenHash
        self.userID = userID
        self.at = at
        self.sequence = sequence
        self.origin = origin
        self.droppedBefore = droppedBefore
        self.messageID = messageID
    }
}

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

    public struct Iterator: AsyncIteratorProtocol {
        // Holds the stream so the poller runs as long as someone iterates.
        let stream: SessionEventStream

        public mutating func next() async throws -> SessionEvent? {
            try await stream.buffer.next()
        }
    }
}

/// Turns change-log entries into events: a rotation is logged as the old token going
/// (`rotated_out`) then the new one arriving (`rotated`, or `updated` when a trigger logged an
/// outside change), and becomes one ``SessionEvent/Kind/rotated`` event carrying both hashes.
struct SessionEventAssembler {
    /// A `rotated_out` whose partner has not been read yet.
    private var rotatedOut: SessionChange?

    mutating func events(from changes: [SessionChange]) -> [SessionEvent] {
        var events: [SessionEvent] = []
        events.reserveCapacity(changes.count)
        for change in changes {
            if let previous = rotatedOut {
                rotatedOut = nil
                if (change.kind == .rotated || change.kind == .updated) && change.sessionID == previous.sessionID {
                    events.append(Self.event(.rotated, change, previous: previous.tokenHash))
                    continue
                }
                // The partner never came (it cannot, unless the log was edited): report the old
                // token as gone.
                events.append(Self.event(.deleted, previous))
            }
            switch change.kind {
            case .rotatedOut: rotatedOut = change
            case .created: events.append(Self.event(.created, change))
            case .updated: events.append(Self.event(.updated, change))
            case .touched: events.append(Self.event(.touched, change))
            case .rotated: events.append(Self.event(.rotated, change))
            case .deleted: events.append(Self.event(.deleted, change))
            case .revoked: events.append(Self.event(.revoked, change))
            case .expired: events.append(Self.event(.expired, change))
            case .evicted: events.append(Self.event(.evicted, change))
            case .appended: events.append(Self.event(.appended, change))
            // Each session it removed here has a `revoked` change of its own.
            case .userRevoked: break
            }
        }
        return events
    }

    private static func event(_ kind: SessionEvent.Kind, _ change: SessionChange, previous: TokenHash? = nil) -> SessionEvent {
        SessionEvent(
            kind: kind,
            sessionID: change.sessionID,
            tokenHash: change.tokenHash,
            previousTokenHash: previous,
            userID: change.userID,
            at: change.at,
            sequence: change.sequence,
            origin: change.origin,
            messageID: change.messageID
        )
    }
}

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

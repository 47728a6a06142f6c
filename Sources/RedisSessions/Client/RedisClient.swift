public import CoreMetrics
public import NIOCore
import NIOPosix
public import Sessions
import Synchronization

/// A small pool of pipelined connections to one Redis server, reconnecting with exponential
/// backoff.
///
/// While the server is unreachable, requests fail at once with
/// `SessionStoreError.Code.unavailable` (saying when the next attempt is due) instead of
/// queueing or hanging, which is what lets a replicating store keep serving from SQLite.
public final class RedisClient: Sendable {
    private enum Slot {
        case empty
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
        case backingOff(until: ContinuousClock.Instant, failures: Int, error: SessionStoreError)
    }

    private enum Plan {
        case use(RedisConnection)
        case wait(Task<RedisConnection, any Error>, slot: Int)
        case refuse(SessionStoreError)
    }

    private struct State {
        var slots: [Slot]
        /// Which slots have had a connection: a new one there is a reconnect.
        var everConnected: [Bool]
        var next = 0
        var failures = 0
        var closed = false
    }

    /// `sessions_redis_*` (see the article "Metrics and tracing").
    private struct Metrics: Sendable {
        let reconnects: Counter
        let connectFailures: Counter
        let factory: any MetricsFactory

        init(factory: (any MetricsFactory)?) {
            self.factory = factory ?? MetricsSystem.factory
            reconnects = Counter(label: "sessions_redis_reconnects_total", factory: self.factory)
            connectFailures = Counter(label: "sessions_redis_connect_failures_total", factory: self.factory)
        }

        /// A command that got no reply, or an error reply, by the error's code.
        func commandFailed(_ code: SessionStoreError.Code) {
            Counter(label: "sessions_redis_command_failures_total", dimensions: [("reason", code.description)], factory: factory).increment()
        }
    }

    /// Where the server is and how to talk to it.
    public let configuration: RedisConfiguration
    private let state: Mutex<State>
    private let group: any EventLoopGroup
    private let metrics: Metrics

    /// Creates a client; connections open on first use.
    ///
    /// - Parameters:
    ///   - configuration: Where Redis is, how to authenticate, and the pool's limits and timeouts.
    ///   - eventLoopGroup: Where connections run; nil for SwiftNIO's shared singleton group.
    ///   - metricsFactory: Where reconnects and failed commands are counted; nil for `MetricsSystem.factory`.
    public init(configuration: RedisConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil, metricsFactory: (any MetricsFactory)? = nil) {
        self.configuration = configuration
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let count = max(1, configuration.connections)
        self.state = Mutex(State(slots: Array(repeating: .empty, count: count), everConnected: Array(repeating: false, count: count)))
        self.metrics = Metrics(factory: metricsFactory)
    }

    /// Creates a client from a `redis://` URL.
    public convenience init(url: String) throws(SessionStoreError) {
        self.init(configuration: try RedisConfiguration(url: url))
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: `SessionStoreError` for a connection problem, or with
    ///   `SessionStoreError.Code.protocolError` carrying the server's message when the reply is an error.
    @discardableResult
    public func send(_ command: RedisCommand) async throws(SessionStoreError) -> RESPValue {
        let reply = try await pipeline([command])[0]
        if case .error(let message) = reply {
            metrics.commandFailed(.protocolError)
            throw SessionStoreError(.protocolError, "Redis refused \(command): \(message)", underlying: .init(code: nil, message: message))
        }
        return reply
    }

    /// Sends commands in one write and returns every reply in order; error replies are returned,
    /// not thrown, so each command of a pipeline can be judged on its own.
    public func pipeline(_ commands: [RedisCommand]) async throws(SessionStoreError) -> [RESPValue] {
        let connection: RedisConnection
        do {
            connection = try await self.connection()
        } catch {
            metrics.commandFailed(error.code)
            throw error
        }
        do {
            return try await connection.send(commands)
        } catch {
            if !connection.isActive { forget(connection) }
            metrics.commandFailed(error.code)
            throw error
        }
    }

    /// Whether at least one connection is open now.
    public var isConnected: Bool {
        state.withLock { state in
            state.slots.contains { slot in
                if case .connected(let connection) = slot { return connection.isActive }
                return false
            }
        }
    }

    /// Closes every connection; later requests fail with `SessionStoreError.Code.closed`.
    public func close() {
        let slots = state.withLock { state in
            state.closed = true
            defer { state.slots = state.slots.map { _ in .empty } }
            return state.slots
        }
        for slot in slots {
            switch slot {
            case .connected(let connection): connection.close()
            case .connecting(let task): task.cancel()
            case .empty, .backingOff: break
            }
        }
    }

    /// Ends every reconnection backoff, so the next request connects at once: for a last
    /// attempt that cannot wait, such as a replicator's flush at shutdown.
    public func retryNow() {
        state.withLock { state in
            for index in state.slots.indices {
                if case .backingOff = state.slots[index] { state.slots[index] = .empty }
            }
        }
    }

    // MARK: Pool

    private func connection() async throws(SessionStoreError) -> RedisConnection {
        switch plan() {
        case .use(let connection):
            return connection
        case .refuse(let error):
            throw error
        case .wait(let task, let slot):
            do {
                let connection = try await task.value
                settle(slot, task: task, with: .success(connection))
                return connection
            } catch {
                let failure = error as? SessionStoreError
                    ?? SessionStoreError(.unavailable, "cannot connect to \(configuration): \(error)")
                settle(slot, task: task, with: .failure(failure))
                throw failure
            }
        }
    }

    /// Picks a live connection round-robin, else joins or starts a connection attempt, else refuses
    /// because every slot is backing off.
    private func plan() -> Plan {
        let now = ContinuousClock.now
        let configuration = self.configuration
        let group = self.group
        return state.withLock { state -> Plan in
            if state.closed { return .refuse(SessionStoreError(.closed, "the Redis client for \(configuration) was closed")) }
            let count = state.slots.count
            let start = state.next
            state.next = (state.next + 1) % count
            for offset in 0..<count {
                if case .connected(let connection) = state.slots[(start + offset) % count], connection.isActive {
                    return .use(connection)
                }
            }
            for offset in 0..<count {
                if case .connecting(let task) = state.slots[(start + offset) % count] {
                    return .wait(task, slot: (start + offset) % count)
                }
            }
            var soonest: (ContinuousClock.Instant, SessionStoreError)?
            for offset in 0..<count {
                let index = (start + offset) % count
                switch state.slots[index] {
                case .backingOff(let until, _, let error) where until > now:
                    if soonest == nil || until < soonest!.0 { soonest = (until, error) }
                    continue
                default:
                    let task = Task { () async throws -> RedisConnection in
                        try await RedisConnection.connect(to: configuration, on: group)
                    }
                    state.slots[index] = .connecting(task)
                    return .wait(task, slot: index)
                }
            }
            let (until, error) = soonest!
            let wait = until - now
            return .refuse(SessionStoreError(
                .unavailable,
                "\(configuration) is unreachable; next attempt in \(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000) ms (last error: \(error.message))",
                underlying: error.underlying
            ))
        }
    }

    private func settle(_ slot: Int, task: Task<RedisConnection, any Error>, with result: Result<RedisConnection, SessionStoreError>) {
        let configuration = self.configuration
        let stale = state.withLock { state -> RedisConnection? in
            guard case .connecting(let current) = state.slots[slot], current == task else {
                if case .success(let connection) = result, state.closed { return connection }
                return nil
            }
            switch result {
            case .success(let connection):
                if state.closed { return connection }
                state.slots[slot] = .connected(connection)
                state.failures = 0
                if state.everConnected[slot] { metrics.reconnects.increment() }
                state.everConnected[slot] = true
            case .failure(let error):
                metrics.connectFailures.increment()
                state.failures += 1
                let delay = min(configuration.maxReconnectDelay, configuration.reconnectDelay * (1 << min(state.failures - 1, 20)))
                state.slots[slot] = .backingOff(until: .now + delay, failures: state.failures, error: error)
            }
            return nil
        }
        stale?.close()
    }

    private func forget(_ connection: RedisConnection) {
        state.withLock { state in
            for index in state.slots.indices {
                if case .connected(let current) = state.slots[index], current === connection {
                    state.slots[index] = .empty
                }
            }
        }
    }
}

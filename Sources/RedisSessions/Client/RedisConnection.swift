import NIOCore
import NIOPosix
import Sessions

/// One TCP connection to Redis with pipelining: any number of requests may be in flight, and
/// each gets its own replies.
final class RedisConnection: Sendable {
    let channel: any Channel
    private let endpoint: String

    private init(channel: any Channel, endpoint: String) {
        self.channel = channel
        self.endpoint = endpoint
    }

    /// Connects, authenticates and selects the database.
    static func connect(
        to configuration: RedisConfiguration,
        on group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(SessionStoreError) -> RedisConnection {
        let endpoint = configuration.description
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(max(1, configuration.connectTimeout.wholeMilliseconds)))
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(RESPDecoder(limits: configuration.decoderLimits))
                        )
                        try channel.pipeline.syncOperations.addHandler(
                            RedisChannelHandler(commandTimeout: configuration.commandTimeout, endpoint: endpoint)
                        )
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            throw SessionStoreError(.unavailable, "cannot connect to \(endpoint): \(error)")
        }
        let connection = RedisConnection(channel: channel, endpoint: endpoint)
        do throws(SessionStoreError) {
            var setup: [RedisCommand] = []
            if configuration.resp3 {
                var hello: [RedisCommand.Argument] = ["3"]
                if let password = configuration.password {
                    hello += ["AUTH", .string(configuration.username ?? "default"), .string(password)]
                }
                setup.append(RedisCommand("HELLO", hello))
            } else if let password = configuration.password {
                if let username = configuration.username {
                    setup.append(RedisCommand("AUTH", .string(username), .string(password)))
                } else {
                    setup.append(RedisCommand("AUTH", .string(password)))
                }
            }
            if configuration.database != 0 {
                setup.append(RedisCommand("SELECT", .integer(Int64(configuration.database))))
            }
            if !setup.isEmpty {
                for (command, reply) in zip(setup, try await connection.send(setup)) {
                    if case .error(let message) = reply {
                        let code: SessionStoreError.Code = ["AUTH", "HELLO"].contains(command.description) ? .configurationError : .unavailable
                        throw SessionStoreError(code, "\(endpoint) refused \(command): \(message)", underlying: .init(code: nil, message: message))
                    }
                }
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Whether the connection can still carry requests.
    var isActive: Bool { channel.isActive }

    /// Sends `commands` in one write and returns their replies in order. Error replies are
    /// returned as ``RESPValue/error(_:)``, not thrown: in a pipeline each command stands alone.
    ///
    /// - Throws: `SessionStoreError` with `SessionStoreError.Code.unavailable` when the
    ///   connection is down, `SessionStoreError.Code.timeout` when replies do not come in time.
    func send(_ commands: [RedisCommand]) async throws(SessionStoreError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        // A write to a channel that already closed never reaches the handler; its failure must
        // still answer the request. (Completing a promise twice is a no-op in SwiftNIO.)
        channel.writeAndFlush(RedisRequest(commands: commands, promise: promise)).whenFailure { error in
            promise.fail(error)
        }
        do {
            // A cancelled caller stops waiting; the reply still arrives and is matched to this
            // request (and dropped), so the pipeline's order is kept.
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(SessionStoreError(.unavailable, "the request to \(endpoint) was cancelled before Redis answered"))
            }
        } catch let error as SessionStoreError {
            throw error
        } catch {
            throw SessionStoreError(.unavailable, "request to \(endpoint) failed: \(error)")
        }
    }

    func close() {
        channel.close(promise: nil)
    }
}

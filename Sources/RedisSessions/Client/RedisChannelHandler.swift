import NIOCore
import Sessions

/// One request to write: commands sent together, and where their replies go.
struct RedisRequest: Sendable {
    let commands: [RedisCommand]
    let promise: EventLoopPromise<[RESPValue]>
}

/// Writes pipelined requests and hands each its replies; lives on the connection's event loop.
///
/// A request that gets no complete answer within the command timeout fails, and so does the
/// connection: a late reply would otherwise be taken for the next request's. One timer watches
/// the oldest request's deadline; it is not moved for each request or reply, only set again
/// when it fires early (the request it was set for was answered).
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var queue = RedisRequestQueue<EventLoopPromise<[RESPValue]>>()
    private let commandTimeout: TimeAmount
    private let endpoint: String
    private var timeout: Scheduled<Void>?
    private var closedError: SessionStoreError?

    init(commandTimeout: Duration, endpoint: String) {
        self.commandTimeout = .milliseconds(max(1, commandTimeout.wholeMilliseconds))
        self.endpoint = endpoint
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedError {
            request.promise.fail(closedError)
            promise?.fail(closedError)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: RESPEncoder.estimatedSize(of: request.commands))
        for command in request.commands { RESPEncoder.encode(command, into: &buffer) }
        queue.enqueue(request.promise, commands: request.commands.count, deadline: context.eventLoop.now + commandTimeout)
        if timeout == nil { watch(context: context) }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch queue.receive(unwrapInboundIn(data)) {
        case .complete(let promise, let replies):
            promise.succeed(replies)
        case .wait, .ignore:
            break
        case .unexpected:
            fail(context: context, SessionStoreError(.protocolError, "\(endpoint) sent a reply nobody asked for"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: SessionStoreError
        if let decoding = error as? RESPDecodingError {
            failure = SessionStoreError(.protocolError, "\(endpoint) sent bytes that are not valid RESP: \(decoding)")
        } else {
            failure = SessionStoreError(.unavailable, "connection to \(endpoint) failed: \(error)")
        }
        fail(context: context, failure)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(SessionStoreError(.unavailable, "connection to \(endpoint) closed"))
        context.fireChannelInactive()
    }

    /// Sets the timer for the oldest waiting request's deadline; when it fires, that request
    /// (or, if it was answered meanwhile, the next oldest) is checked again.
    private func watch(context: ChannelHandlerContext) {
        guard let deadline = queue.frontDeadline else {
            timeout = nil
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            if let front = handler.queue.frontDeadline, front <= context.eventLoop.now {
                handler.timeout = nil
                handler.fail(context: context, SessionStoreError(.timeout, "\(handler.endpoint) did not answer within \(handler.commandTimeout.nanoseconds / 1_000_000) ms"))
            } else {
                handler.watch(context: context)
            }
        }
    }

    private func cancelTimeout() {
        timeout?.cancel()
        timeout = nil
    }

    private func fail(context: ChannelHandlerContext, _ error: SessionStoreError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: SessionStoreError) {
        if closedError == nil { closedError = error }
        cancelTimeout()
        for promise in queue.drain() { promise.fail(error) }
    }
}

import NIOCore
import NIOEmbedded
@testable import RedisSessions
import Sessions
import Testing

@Suite("Redis request queue and channel handler")
struct RedisChannelHandlerTests {
    @Test func queueMatchesRepliesToPipelinedRequestsInOrder() {
        var queue = RedisRequestQueue<String>()
        queue.enqueue("first", commands: 2)
        queue.enqueue("second", commands: 1)
        guard case .wait = queue.receive(.integer(1)) else { Issue.record("first needs two replies"); return }
        guard case .ignore = queue.receive(.push([.simpleString("invalidate")])) else { Issue.record("pushes are not replies"); return }
        guard case .complete(let first, let replies) = queue.receive(.integer(2)) else { Issue.record("first is complete"); return }
        #expect(first == "first")
        #expect(replies == [.integer(1), .integer(2)])
        guard case .complete("second", [.simpleString("OK")]) = queue.receive(.simpleString("OK")) else {
            Issue.record("second is complete")
            return
        }
        guard case .unexpected = queue.receive(.simpleString("extra")) else { Issue.record("nobody asked"); return }
        queue.enqueue("third", commands: 3)
        #expect(queue.drain() == ["third"])
        #expect(queue.isEmpty)
    }

    @Test func handlerWritesCommandsAndDeliversReplies() async throws {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: .seconds(5), endpoint: "test"))
        }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        try await channel.writeOutbound(RedisRequest(commands: [RedisCommand("SET", "k", "v"), RedisCommand("GET", "k")], promise: promise))
        let written = try await channel.readOutbound(as: ByteBuffer.self)
        #expect(written.map { String(buffer: $0) } == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        try await channel.writeInbound(RESPValue.simpleString("OK"))
        try await channel.writeInbound(RESPValue.bulkString(ByteBuffer(string: "v")))
        #expect(try await promise.futureResult.get() == [.simpleString("OK"), .bulkString(ByteBuffer(string: "v"))])
        _ = try? await channel.finish()
    }

    @Test func aRequestWithoutAnAnswerTimesOutAndClosesTheConnection() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
            try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: .milliseconds(200), endpoint: "test"))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379))
        #expect(channel.isActive)
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        try await channel.writeOutbound(RedisRequest(commands: [RedisCommand("PING")], promise: promise))
        await loop.advanceTime(by: .milliseconds(250))
        await #expect {
            try await promise.futureResult.get()
        } throws: { error in
            (error as? SessionStoreError)?.code == .timeout
        }
        #expect(!channel.isActive)
    }

    @Test func theTimerFollowsTheOldestRequestAsRepliesArrive() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
            try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: .milliseconds(200), endpoint: "test"))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379))
        #expect(channel.isActive)
        let first = channel.eventLoop.makePromise(of: [RESPValue].self)
        try await channel.writeOutbound(RedisRequest(commands: [RedisCommand("PING")], promise: first))
        await loop.advanceTime(by: .milliseconds(150))
        let second = channel.eventLoop.makePromise(of: [RESPValue].self)
        try await channel.writeOutbound(RedisRequest(commands: [RedisCommand("PING")], promise: second))
        // The first is answered in time; the timer, set for it, fires at 200 ms and finds the
        // second still within its own deadline (350 ms).
        try await channel.writeInbound(RESPValue.simpleString("PONG"))
        #expect(try await first.futureResult.get() == [.simpleString("PONG")])
        await loop.advanceTime(by: .milliseconds(100))
        #expect(channel.isActive)
        await loop.advanceTime(by: .milliseconds(110))
        await #expect {
            try await second.futureResult.get()
        } throws: { error in
            (error as? SessionStoreError)?.code == .timeout
        }
        #expect(!channel.isActive)
    }

    @Test func anUnaskedReplyClosesTheConnection() async throws {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: .seconds(5), endpoint: "test"))
        }
        try await channel.writeInbound(RESPValue.simpleString("surprise"))
        #expect(!channel.isActive)
    }
}

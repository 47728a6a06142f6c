import Foundation
import LocalRedisServer
import RedisSessions
import SessionTestSupport
import Sessions
import Testing

@Suite("Redis client against a real server", .requiresRedis)
struct RedisClientTests {
    @Test func pipelinesManyCommandsAndKeepsRepliesInOrder() async throws {
        let client = try RedisTestServer.client()
        defer { client.close() }
        let prefix = RedisTestServer.uniquePrefix()
        let commands = (0..<1000).map { RedisCommand("SET", .string("\(prefix)\($0)"), .integer(Int64($0))) }
            + (0..<1000).map { RedisCommand("GET", .string("\(prefix)\($0)")) }
        let replies = try await client.pipeline(commands)
        #expect(replies.prefix(1000).allSatisfy { $0 == .simpleString("OK") })
        #expect(replies.suffix(1000).map(\.integer) == (0..<1000).map { Int64($0) })
        let error = try await client.pipeline([RedisCommand("INCR", .string("\(prefix)0")), RedisCommand("NOSUCHCOMMAND")])
        #expect(error[0] == .integer(1))
        guard case .error(let message) = error[1] else { Issue.record("expected an error reply"); return }
        #expect(message.contains("unknown command"))
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }

    @Test func selectsTheDatabaseOfTheURL() async throws {
        let base = try RedisTestServer.configuration()
        var database5 = base
        database5.database = 5
        let client5 = RedisClient(configuration: database5)
        let client0 = RedisClient(configuration: base)
        defer {
            client5.close()
            client0.close()
        }
        let key = RedisTestServer.uniquePrefix() + "db"
        try await client5.send(RedisCommand("SET", .string(key), "in five"))
        #expect(try await client0.send(RedisCommand("GET", .string(key))) == .null)
        #expect(try await client5.send(RedisCommand("GET", .string(key))).string == "in five")
        try await client5.send(RedisCommand("DEL", .string(key)))
    }

    @Test func authenticatesWithAnACLUser() async throws {
        let admin = try RedisTestServer.client()
        defer { admin.close() }
        let user = "acl-\(UUID().uuidString.prefix(8))"
        try await admin.send(RedisCommand("ACL", "SETUSER", .string(user), "on", ">s3cret", "~*", "+@all"))
        let base = try RedisTestServer.configuration()
        let good = try RedisClient(url: "redis://\(user):s3cret@\(base.host):\(base.port)")
        #expect(try await good.send(RedisCommand("ACL", "WHOAMI")).string == user)
        good.close()
        let bad = try RedisClient(url: "redis://\(user):wrong@\(base.host):\(base.port)")
        await #expect {
            try await bad.send(RedisCommand("PING"))
        } throws: { error in
            guard let error = error as? SessionStoreError else { return false }
            return error.code == .configurationError && error.message.contains("AUTH")
        }
        bad.close()
        try await admin.send(RedisCommand("ACL", "DELUSER", .string(user)))
    }

    @Test func speaksRESP3AndTheStoreWorksOverIt() async throws {
        var configuration = try RedisTestServer.configuration()
        configuration.resp3 = true
        let client = RedisClient(configuration: configuration)
        let reply = try await client.send(RedisCommand("CONFIG", "GET", "maxmemory"))
        guard case .map(let entries) = reply else {
            Issue.record("RESP3 answers CONFIG GET with a map, got \(reply)")
            return
        }
        #expect(entries.first?.key.string == "maxmemory")
        let prefix = RedisTestServer.uniquePrefix()
        let store = RedisSessionStore(client: client, keys: RedisSessionKeys(prefix: prefix))
        let issued = try await store.create(userID: "resp3", data: Data("three".utf8))
        #expect(try await store.load(issued.token)?.data == Data("three".utf8))
        #expect(try await store.sessions(forUser: "resp3").count == 1)
        #expect(try await store.count() == 1)
        #expect(try await store.deleteSessions(forUser: "resp3") == 1)
        try await store.close()
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }

    @Test func authenticatesWithAPassword() async throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "hunter2"])
        let good = try RedisClient(url: "redis://:hunter2@127.0.0.1:\(server.port)")
        #expect(try await good.send(RedisCommand("PING")) == .simpleString("PONG"))
        good.close()
        let resp3 = try RedisClient(url: "redis://:hunter2@127.0.0.1:\(server.port)?protocol=3")
        #expect(try await resp3.send(RedisCommand("PING")) == .simpleString("PONG"))
        resp3.close()
        let none = try RedisClient(url: server.url)
        await #expect(throws: SessionStoreError.self) { try await none.send(RedisCommand("SET", "k", "v")) }
        none.close()
    }

    @Test func failsFastWhileTheServerIsDownAndReconnectsWhenItIsBack() async throws {
        let server = try RedisServerProcess()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.reconnectDelay = .milliseconds(50)
        configuration.maxReconnectDelay = .milliseconds(200)
        let client = RedisClient(configuration: configuration)
        defer { client.close() }
        try await client.send(RedisCommand("SET", "k", "before"))
        server.kill()
        for _ in 0..<3 {
            await #expect {
                try await client.send(RedisCommand("GET", "k"))
            } throws: { error in
                (error as? SessionStoreError)?.code == .unavailable
            }
        }
        try server.restart(keepingData: false)
        var reply: RESPValue?
        for _ in 0..<100 where reply == nil {
            reply = try? await client.send(RedisCommand("SET", "k", "after"))
            if reply == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(reply == .simpleString("OK"), "the client reconnected")
        #expect(client.isConnected)
    }

    @Test func aCommandThatGetsNoAnswerTimesOut() async throws {
        let server = try RedisServerProcess(arguments: ["--enable-debug-command", "yes"])
        var configuration = try RedisConfiguration(url: server.url)
        configuration.commandTimeout = .milliseconds(200)
        let client = RedisClient(configuration: configuration)
        defer { client.close() }
        await #expect {
            try await client.send(RedisCommand("DEBUG", "SLEEP", "1"))
        } throws: { error in
            (error as? SessionStoreError)?.code == .timeout
        }
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"), "a new connection replaces the timed-out one")
    }
}

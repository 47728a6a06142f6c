import Foundation
import RedisSessions
import Sessions
import SessionTestSupport
import Testing

/// The per-session message log, for every store.
@Suite("Session message logs")
struct SessionMessageTests {
    @Test(arguments: StoreVariant.all)
    func appendedMessagesReadBackOldestFirst(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let store = harness.store
            let issued = try await store.create(userID: "ada")
            let other = try await store.create(userID: "bob")
            #expect(try await store.messages(for: issued.token, last: 10) == [])
            let first = try await store.append(SessionMessageDraft(role: .system, content: "You are terse."), to: issued.token)
            harness.clock.advance(by: .seconds(1))
            let second = try await store.append(
                SessionMessageDraft(role: .user, content: "Héllo \"world\" 🧑‍💻\n'; DROP TABLE session_messages; --", metadata: ["lang": "fr"]),
                to: issued.token
            )
            let third = try await store.append(SessionMessageDraft(role: .assistant, content: "", metadata: ["model": "m-1", "tokens": "0"]), to: issued.token)
            _ = try await store.append(SessionMessageDraft(role: .user, content: "someone else's"), to: other.token)

            #expect(first.id < second.id && second.id < third.id)
            #expect(first.createdAt == harness.start)
            #expect(second.createdAt == harness.start + .seconds(1))
            let all = try #require(try await store.messages(for: issued.token, last: 10))
            #expect(all == [first, second, third])
            #expect(all[1].content == "Héllo \"world\" 🧑‍💻\n'; DROP TABLE session_messages; --")
            #expect(all[1].metadata == ["lang": "fr"])
            #expect(try await store.messages(for: issued.token, last: 2) == [second, third])
            #expect(try await store.messages(for: other.token, last: 10)?.map(\.content) == ["someone else's"])
            #expect(try await store.messages(for: SessionToken.generate(), last: 10) == nil)
            await expectError(.notFound) { try await store.append(SessionMessageDraft(role: .user, content: "x"), to: SessionToken.generate()) }
            await expectError(.invalidArgument) { try await store.messages(for: issued.token, last: 0) }
        }
    }

    @Test(arguments: StoreVariant.all)
    func theLogKeepsTheNewestMessagesUpToTheCap(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.maxMessagesPerSession = 5 }) { harness throws in
            let issued = try await harness.store.create()
            var ids: [Int64] = []
            for index in 0..<8 {
                ids.append(try await harness.store.append(SessionMessageDraft(role: .user, content: "m\(index)"), to: issued.token).id)
            }
            let kept = try #require(try await harness.store.messages(for: issued.token, last: 100))
            #expect(kept.map(\.id) == Array(ids.suffix(5)))
            #expect(kept.map(\.content) == ["m3", "m4", "m5", "m6", "m7"])
        }
    }

    @Test(arguments: StoreVariant.all)
    func concurrentAppendsKeepExactlyTheNewestN(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.maxMessagesPerSession = 10 }) { harness throws in
            let store = harness.store
            let issued = try await store.create()
            let appended = try await withThrowingTaskGroup(of: SessionMessage.self) { group in
                for index in 0..<64 {
                    group.addTask { try await store.append(SessionMessageDraft(role: .user, content: "c\(index)"), to: issued.token) }
                }
                return try await group.reduce(into: [SessionMessage]()) { $0.append($1) }
            }
            #expect(Set(appended.map(\.id)).count == 64)
            let kept = try #require(try await store.messages(for: issued.token, last: 1000))
            #expect(kept.count == 10)
            #expect(kept.map(\.id) == Array(appended.map(\.id).sorted().suffix(10)))
            let byID = Dictionary(uniqueKeysWithValues: appended.map { ($0.id, $0.content) })
            #expect(kept.allSatisfy { byID[$0.id] == $0.content })
        }
    }

    @Test(arguments: StoreVariant.all)
    func appendingCountsAsActivityForIdleExpiry(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .idle(.seconds(100)); $0.touchInterval = .zero }) { harness throws in
            let issued = try await harness.store.create()
            harness.clock.advance(by: .seconds(80))
            _ = try await harness.store.append(SessionMessageDraft(role: .user, content: "still here"), to: issued.token)
            harness.clock.advance(by: .seconds(80))
            #expect(try await harness.store.messages(for: issued.token, last: 1)?.count == 1, "160 s after creation, 80 s after the append")
            harness.clock.advance(by: .seconds(21))
            #expect(try await harness.store.load(issued.token) == nil)
            #expect(try await harness.store.messages(for: issued.token, last: 1) == nil)
            await expectError(.notFound) { try await harness.store.append(SessionMessageDraft(role: .user, content: "too late"), to: issued.token) }
        }
    }

    @Test(arguments: StoreVariant.all)
    func messagesGoWithTheirSession(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let store = harness.store
            let deleted = try await store.create(userID: "u1")
            let revoked = try await store.create(userID: "u2")
            let kept = try await store.create(userID: "u3")
            for issued in [deleted, revoked, kept] {
                _ = try await store.append(SessionMessageDraft(role: .user, content: "hello"), to: issued.token)
            }
            #expect(try await store.delete(deleted.token))
            #expect(try await store.deleteSessions(forUser: "u2") == 1)
            #expect(try await store.messages(for: deleted.token, last: 5) == nil)
            #expect(try await store.messages(for: revoked.token, last: 5) == nil)
            #expect(try await store.messages(for: kept.token, last: 5)?.count == 1)
            if let path = harness.databasePath {
                let rows = try sqlite3(path, "SELECT count(*) FROM session_messages;").standardOutput
                #expect(rows == "1\n", "the deleted sessions' messages are gone from the file")
            }
            if variant.kind == .redis, let prefix = harness.redisPrefix {
                let keys = RedisSessionKeys(prefix: prefix)
                let dump = try await RedisTestServer.dump(prefix: prefix)
                #expect(dump[keys.messages(deleted.token.hash)] == nil && dump[keys.messages(revoked.token.hash)] == nil)
                #expect(dump[keys.messages(kept.token.hash)] != nil)
            }
        }
    }

    @Test(arguments: StoreVariant.all)
    func contentAndMetadataLimits(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.maxMessageSize = 64; $0.maxMetadataSize = 32 }) { harness throws in
            let issued = try await harness.store.create()
            let atLimit = String(repeating: "é", count: 32)  // 64 bytes
            #expect(try await harness.store.append(SessionMessageDraft(role: .user, content: atLimit), to: issued.token).content == atLimit)
            await expectError(.payloadTooLarge) {
                try await harness.store.append(SessionMessageDraft(role: .user, content: atLimit + "x"), to: issued.token)
            }
            await expectError(.payloadTooLarge) {
                try await harness.store.append(SessionMessageDraft(role: .user, content: "x", metadata: ["k": String(repeating: "v", count: 32)]), to: issued.token)
            }
            #expect(try await harness.store.messages(for: issued.token, last: 10)?.count == 1, "rejected messages left nothing behind")
        }
    }
}

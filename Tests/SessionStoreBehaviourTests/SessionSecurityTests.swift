import Foundation
import RedisSessions
import Sessions
import SessionTestSupport
import SQLiteSessions
import Testing

/// Hashed tokens, rotation, encryption at rest and per-user limits, for every store.
@Suite("Session security")
struct SessionSecurityTests {
    /// The stores that keep something outside the process: a file, Redis, or both.
    static let persistent = StoreVariant.all.filter { $0.kind != .memory && $0.kind != .cachedMemory }

    // MARK: Hashed tokens

    @Test(arguments: persistent)
    func noRawTokenIsStoredAnywhere(_ variant: StoreVariant) async throws {
        let marker = "secret-cart-\(UUID().uuidString)"
        try await withStore(variant, policy: { $0.expiration = .idle(.seconds(600)); $0.touchInterval = .zero }) { harness throws in
            let store = harness.store
            var tokens: [SessionToken] = []
            for index in 0..<5 {
                let issued = try await store.create(
                    userID: "user\(index % 2)",
                    data: Data(#"{"cart":"\#(marker)"}"#),
                    client: SessionClient(ip: "198.51.100.\(index)", userAgent: "agent")
                )
                tokens.append(issued.token)
                harness.clock.advance(by: .seconds(1))
                _ = try await store.load(issued.token)
                _ = try await store.append(SessionMessageDraft(role: .user, content: "message \(marker)"), to: issued.token)
            }
            let rotated = try #require(try await store.rotate(tokens[0]))
            tokens.append(rotated.token)

            if let path = harness.databasePath {
                // Every file of the database: main file, write-ahead log, shared memory.
                var bytes = Data()
                for name in try FileManager.default.contentsOfDirectory(atPath: harness.directory!.path) {
                    bytes += try Data(contentsOf: harness.directory!.appendingPathComponent(name))
                }
                for token in tokens {
                    #expect(bytes.range(of: Data(token.stringValue.utf8)) == nil, "the token's text is in the file")
                    #expect(bytes.range(of: Self.rawBytes(token)) == nil, "the token's bytes are in the file")
                }
                #expect((bytes.range(of: Data(marker.utf8)) != nil) == !variant.encrypted, "data and messages are sealed exactly when encryption is on")
                // What is stored is the SHA-256 of the token's bytes.
                let stored = try sqlite3(path, "SELECT lower(hex(token_hash)) FROM sessions ORDER BY id;").standardOutput
                let expected = Set(tokens.dropFirst().map(\.hash.hex))
                #expect(Set(stored.split(separator: "\n").map(String.init)) == expected)
                for token in tokens {
                    #expect(Self.rawBytes(token).withUnsafeBytes { TokenHash(digesting: $0) } == token.hash)
                }
                if !variant.encrypted {
                    let json = try sqlite3(path, "SELECT json_extract(CAST(data AS TEXT), '$.cart') FROM sessions LIMIT 1;")
                    #expect(json.standardOutput == marker + "\n", "without encryption, data is JSON the sqlite3 shell reads")
                }
            }
            if let prefix = harness.redisPrefix {
                if variant.kind == .replicated {
                    try await waitUntil("replication of the rotation") {
                        try await RedisTestServer.dump(prefix: prefix).keys.contains { $0.hasSuffix(rotated.token.hash.hex) }
                    }
                }
                let dump = try RedisTestServer.cliDump(prefix: prefix)
                #expect(!dump.isEmpty)
                for token in tokens {
                    #expect(!dump.contains(token.stringValue), "the token's text is in Redis")
                }
                #expect(dump.contains(rotated.token.hash.hex), "Redis keys name the token's hash")
                #expect(dump.contains(marker) == !variant.encrypted, "data is sealed in Redis exactly when encryption is on")
            }
        }
    }

    static func rawBytes(_ token: SessionToken) -> Data {
        var text = token.stringValue.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: text)!
    }

    @Test(arguments: [
        "", "short", String(repeating: "A", count: 42), String(repeating: "A", count: 44), String(repeating: "A", count: 1 << 20),
        String(repeating: "A", count: 42) + "=", String(repeating: "A", count: 42) + "+", String(repeating: "A", count: 42) + "\u{0}",
        String(repeating: "é", count: 43), "'; DROP TABLE sessions; --" + String(repeating: "A", count: 17),
    ])
    func malformedTokensAreRejectedBeforeAnyLookup(_ text: String) {
        #expect {
            try SessionToken(text)
        } throws: { error in
            (error as? SessionStoreError)?.code == .malformedToken
        }
    }

    // MARK: Rotation

    @Test(arguments: StoreVariant.all)
    func rotationKeepsTheMessageLogAndKillsTheOldTokenEverywhere(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let store = harness.store
            let issued = try await store.create(userID: "erin", data: Data("state"))
            _ = try await store.load(issued.token)  // cached where there is a cache
            _ = try await store.append(SessionMessageDraft(role: .user, content: "before rotation"), to: issued.token)
            let rotated = try #require(try await store.rotate(issued.token))
            #expect(try await store.load(issued.token) == nil)
            #expect(try await store.exists(issued.token) == false)
            #expect(try await store.messages(for: issued.token, last: 10) == nil)
            #expect(try await store.messages(for: rotated.token, last: 10)?.map(\.content) == ["before rotation"])
            await expectError(.notFound) { try await store.append(SessionMessageDraft(role: .user, content: "late"), to: issued.token) }
            #expect(try await store.load(rotated.token)?.data == Data("state"))
            if variant.kind == .replicated, let prefix = harness.redisPrefix {
                try await waitUntil("the old token leaving Redis") {
                    let keys = try await RedisTestServer.dump(prefix: prefix).keys
                    return keys.contains { $0.hasSuffix(rotated.token.hash.hex) } && !keys.contains { $0.hasSuffix(issued.token.hash.hex) }
                }
            }
        }
    }

    // MARK: Encryption at rest

    /// Rewrites a stored session's sealed data in a hostile way, behind the store's back.
    enum Tampering: String, CaseIterable, CustomTestStringConvertible {
        case flippedCiphertextByte
        case flippedTagByte
        case flippedKeyID
        case truncated
        case onlyTheHeader
        case unknownKey

        var testDescription: String { rawValue }

        func apply(to sealed: Data) throws -> Data {
            var bytes = [UInt8](sealed)
            switch self {
            case .flippedCiphertextByte: bytes[4 + 1 + 2 + 12 + 1] ^= 0x01
            case .flippedTagByte: bytes[bytes.count - 1] ^= 0x80
            case .flippedKeyID: bytes[4 + 1] = UInt8(ascii: "t"); bytes[4 + 2] = UInt8(ascii: "1")
            case .truncated: bytes.removeLast(5)
            case .onlyTheHeader: bytes = Array(bytes.prefix(4 + 1 + 2))
            case .unknownKey:
                let other = try SessionEncryption(parsing: "zz:\(Data(repeating: 7, count: 32).base64EncodedString())")
                return try other.seal(Data(#"{"cart":"forged"}"#.utf8))
            }
            return Data(bytes)
        }
    }

    @Test(arguments: [StoreKind.sqlite, .redis].filter(StoreKind.available.contains), Tampering.allCases)
    func tamperedOrTruncatedCiphertextIsAClearError(_ kind: StoreKind, _ tampering: Tampering) async throws {
        try await withStore(StoreVariant(kind, encrypted: true)) { harness throws in
            let victim = try await harness.store.create(userID: "mallory", data: Data(#"{"cart":"real"}"#))
            let bystander = try await harness.store.create(userID: "mallory", data: Data("untouched"))
            if let path = harness.databasePath {
                let hex = try sqlite3(path, "SELECT hex(data) FROM sessions WHERE id = \(victim.session.id);").standardOutput
                let sealed = try #require(Data(hexString: hex.trimmingCharacters(in: .whitespacesAndNewlines)))
                let forged = try tampering.apply(to: sealed)
                let update = try sqlite3(path, ".timeout 5000\nUPDATE sessions SET data = X'\(forged.hexString)' WHERE id = \(victim.session.id);")
                #expect(update.status == 0, "\(update)")
            } else if let prefix = harness.redisPrefix {
                let client = try RedisTestServer.client()
                defer { client.close() }
                let key = RedisSessionKeys(prefix: prefix).session(victim.token.hash)
                let text = try #require(try await client.send(RedisCommand("GET", .string(key))).string)
                var record = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
                let sealed = try #require(Data(base64Encoded: record["data"] as! String))
                record["data"] = try tampering.apply(to: sealed).base64EncodedString()
                let forged = String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self)
                _ = try await client.send(RedisCommand("SET", .string(key), .string(forged), "KEEPTTL"))
            }
            await expectError(.decryptionFailed) { try await harness.store.load(victim.token) }
            await expectError(.decryptionFailed) { try await harness.store.sessions(forUser: "mallory") }
            #expect(try await harness.store.load(bystander.token)?.data == Data("untouched"), "other sessions are unaffected")
            #expect(try await harness.store.delete(victim.token), "a session whose data cannot be opened can still be deleted")
        }
    }

    @Test func keysRotateAndReencryptionRewritesEverything() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let k1 = "k1:\(Data(repeating: 1, count: 32).base64EncodedString())"
        let k2 = "k2:\(Data(repeating: 2, count: 32).base64EncodedString())"
        func open(_ keys: String?) throws -> SQLiteSessionStore {
            try SQLiteSessionStore(path: path, policy: SessionPolicy(encryption: try keys.map { try SessionEncryption(parsing: $0) }))
        }

        // Written before encryption was on, then under k1.
        let plainStore = try open(nil)
        let plain = try await plainStore.create(data: Data("plain"))
        try await plainStore.close()
        let first = try open(k1)
        #expect(try await first.load(plain.token)?.data == Data("plain"), "plain data still reads once encryption is on")
        let old = try await first.create(data: Data("under k1"))
        _ = try await first.append(SessionMessageDraft(role: .assistant, content: "reply under k1"), to: old.token)
        #expect(try await first.dataKeyUsage() == [nil: 1, "k1": 1])
        try await first.close()

        // k2 becomes current; k1 still opens.
        let second = try open("\(k2),\(k1)")
        #expect(try await second.load(old.token)?.data == Data("under k1"))
        let new = try await second.create(data: Data("under k2"))
        #expect(try await second.dataKeyUsage() == [nil: 1, "k1": 1, "k2": 1])
        var batches = 0
        var after: Int64 = 0
        var rewritten = (sessions: 0, messages: 0)
        while true {
            let batch = try await second.reencrypt(batchSize: 1, after: after)
            batches += 1
            rewritten.sessions += batch.sessionsRewritten
            rewritten.messages += batch.messagesRewritten
            guard let next = batch.next else { break }
            after = next
        }
        #expect(batches >= 3)
        #expect(rewritten.sessions == 2 && rewritten.messages == 1)
        #expect(try await second.dataKeyUsage() == ["k2": 3])
        #expect(try await second.reencrypt().sessionsRewritten == 0, "running again finds nothing to do")
        try await second.close()

        // k1 can go now.
        let third = try open(k2)
        #expect(try await third.load(plain.token)?.data == Data("plain"))
        #expect(try await third.load(old.token)?.data == Data("under k1"))
        #expect(try await third.load(new.token)?.data == Data("under k2"))
        #expect(try await third.messages(for: old.token, last: 5)?.map(\.content) == ["reply under k1"])
        try await third.close()

        // Without keys nothing sealed is served as if it were data.
        let keyless = try open(nil)
        await expectError(.decryptionFailed) { try await keyless.load(new.token) }
        await expectError(.decryptionFailed) { try await keyless.messages(for: old.token, last: 5) }
        try await keyless.close()
    }

    @Test func applicationDataCannotPoseAsSealedData() async throws {
        let store = InMemorySessionStore()
        await expectError(.invalidArgument) { try await store.create(data: Data(SessionEncryption.magic + [0, 1, 2])) }
        #expect(try await store.create(data: Data([0x00, 0x53, 0x45])).session.data.count == 3)
    }

    // MARK: Per-user limits

    @Test(arguments: StoreVariant.all)
    func oneSessionTooManyEvictsTheOldest(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.maxSessionsPerUser = 2; $0.expiration = .absolute(.seconds(3600)) }) { harness throws in
            let store = harness.store
            let first = try await store.create(userID: "frank")
            harness.clock.advance(by: .seconds(1))
            let second = try await store.create(userID: "frank")
            harness.clock.advance(by: .seconds(1))
            _ = try await store.load(first.token)  // cached where there is a cache; use does not matter here
            _ = try await store.create()  // anonymous sessions have no limit
            _ = try await store.create(userID: "grace")
            let third = try await store.create(userID: "frank")
            #expect(third.evicted == [first.token.hash])
            #expect(try await store.load(first.token) == nil)
            #expect(try await store.load(second.token) != nil)
            #expect(try await store.sessions(forUser: "frank").map(\.id).sorted() == [second.session.id, third.session.id].sorted())
            #expect(try await store.sessions(forUser: "grace").count == 1)
            #expect(try await store.count() == 4)
            if let prefix = harness.redisPrefix {
                let evictedKey = RedisSessionKeys(prefix: prefix).session(first.token.hash)
                if variant.kind == .replicated {
                    try await waitUntil("the third session reaching Redis") {
                        try await RedisTestServer.dump(prefix: prefix).keys.contains { $0.hasSuffix(third.token.hash.hex) }
                    }
                }
                #expect(try await RedisTestServer.dump(prefix: prefix)[evictedKey] == nil, "the evicted session is gone from Redis")
            }
        }
    }

    @Test(arguments: StoreVariant.all)
    func leastRecentlySeenEvictionSparesTheSessionInUse(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: {
            $0.maxSessionsPerUser = 2
            $0.evictionOrder = .leastRecentlySeen
            $0.expiration = .idle(.seconds(3600))
            $0.touchInterval = .zero
        }) { harness throws in
            let store = harness.store
            let older = try await store.create(userID: "heidi")
            harness.clock.advance(by: .seconds(1))
            let newer = try await store.create(userID: "heidi")
            harness.clock.advance(by: .seconds(1))
            #expect(try await store.load(older.token) != nil, "the older session is used again")
            harness.clock.advance(by: .seconds(1))
            let third = try await store.create(userID: "heidi")
            #expect(third.evicted == [newer.token.hash])
            #expect(try await store.load(newer.token) == nil)
            #expect(try await store.load(older.token) != nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func expiredSessionsDoNotCountTowardsTheLimit(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.maxSessionsPerUser = 1; $0.expiration = .absolute(.seconds(3600)) }) { harness throws in
            let short = try await harness.store.create(userID: "ivan", expiration: .absolute(.seconds(5)))
            harness.clock.advance(by: .seconds(10))
            let fresh = try await harness.store.create(userID: "ivan")
            #expect(fresh.evicted.isEmpty)
            #expect(try await harness.store.load(short.token) == nil)
            await expectError(.configurationError) {
                var policy = harness.store.policy
                policy.maxSessionsPerUser = 0
                return try await InMemorySessionStore(policy: policy).create(userID: "x")
            }
        }
    }
}

extension Data {
    init?(hexString: String) {
        guard hexString.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }

    var hexString: String { map { String(format: "%02X", $0) }.joined() }
}

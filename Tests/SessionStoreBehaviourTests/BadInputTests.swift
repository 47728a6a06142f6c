import Foundation
import Sessions
import SessionTestSupport
import Testing

/// Hostile and out-of-range input, for every store: each is stored exactly as given or refused
/// with a clear error, and a refusal leaves everything as it was.
@Suite("Bad input")
struct BadInputTests {
    enum Input: String, CaseIterable, CustomTestStringConvertible {
        case sqlInUserID
        case quotesInUserID
        case wildcardsInUserID
        case emojiAndBidiInUserID
        case invalidUTF8InUserID
        case nulInUserID
        case emptyUserID
        case megabyteUserID
        case hostileMetadata
        case invalidUTF8InMetadata
        case megabyteMetadata
        case binaryData
        case dataAtTheLimit
        case dataOneByteOverTheLimit
        case saveOneByteOverTheLimit
        case zeroTTL
        case negativeTTL
        case hugeTTL
        case longestTTL
        case oneMillisecondTTL
        case megabyteClientHeaders

        var testDescription: String { rawValue }

        static let dataLimit = 1024

        /// Bytes that are not UTF-8, as a Swift string holds them (each bad byte repaired to U+FFFD).
        static let repairedUTF8 = String(decoding: [0x66, 0x6F, 0xFF, 0xFE, 0xC3, 0x28, 0x6F] as [UInt8], as: UTF8.self)

        /// A user id stored and found as given.
        var acceptedUserID: String? {
            switch self {
            case .sqlInUserID: "Robert'); DELETE FROM sessions WHERE ('1'='1"
            case .quotesInUserID: #"'"`\'\"; --"#
            case .wildcardsInUserID: "%_*?[a-z]\\"
            case .emojiAndBidiInUserID: "🧑‍💻 \u{202E}txet\u{202C} e\u{301}"
            case .invalidUTF8InUserID: Self.repairedUTF8
            default: nil
            }
        }

        /// What the store must answer, given a bystander session that must survive unchanged.
        func check(_ store: any SessionStore, bystander: IssuedSession) async throws {
            if let userID = acceptedUserID {
                let issued = try await store.create(userID: userID, data: Data(userID), metadata: [userID: userID])
                let loaded = try #require(try await store.load(issued.token))
                #expect(loaded.userID == userID && loaded.data == Data(userID) && loaded.metadata == [userID: userID])
                #expect(try await store.sessions(forUser: userID).map(\.id) == [issued.session.id])
                #expect(try await store.deleteSessions(forUser: userID) == 1)
                return
            }
            switch self {
            case .nulInUserID:
                await expectError(.invalidArgument) { try await store.create(userID: "nul\u{0}byte") }
                await expectError(.invalidArgument) { try await store.sessions(forUser: "nul\u{0}byte") }
            case .emptyUserID:
                await expectError(.invalidArgument) { try await store.create(userID: "") }
            case .megabyteUserID:
                let huge = String(repeating: "u", count: 1 << 20)
                await expectError(.invalidArgument) { try await store.create(userID: huge) }
                await expectError(.invalidArgument) { try await store.deleteSessions(forUser: huge) }
            case .hostileMetadata:
                let metadata = ["\"}{'": "'); DROP TABLE sessions; --", "": "", "nul": "a\u{0}b", "json": #"{"a":[1,2]}"#]
                let issued = try await store.create(metadata: metadata)
                #expect(try await store.load(issued.token)?.metadata == metadata)
            case .invalidUTF8InMetadata:
                let issued = try await store.create(metadata: [Self.repairedUTF8: Self.repairedUTF8])
                #expect(try await store.load(issued.token)?.metadata == [Self.repairedUTF8: Self.repairedUTF8])
            case .megabyteMetadata:
                await expectError(.payloadTooLarge) { try await store.create(metadata: ["big": String(repeating: "m", count: 1 << 20)]) }
            case .binaryData:
                let bytes = Data([0xFF, 0xFE, 0x00, 0xC3, 0x28, 0x00, 0x53, 0x45, 0x01, 0x80])
                let issued = try await store.create(data: bytes)
                #expect(try await store.load(issued.token)?.data == bytes)
            case .dataAtTheLimit:
                let issued = try await store.create(data: Data(repeating: 0x41, count: Self.dataLimit))
                #expect(try await store.load(issued.token)?.data.count == Self.dataLimit)
            case .dataOneByteOverTheLimit:
                await expectError(.payloadTooLarge) { try await store.create(data: Data(repeating: 0x41, count: Self.dataLimit + 1)) }
            case .saveOneByteOverTheLimit:
                var session = bystander.session
                session.data = Data(repeating: 0x42, count: Self.dataLimit + 1)
                await expectError(.payloadTooLarge) { try await store.save(session) }
            case .zeroTTL:
                await expectError(.invalidArgument) { try await store.create(expiration: .absolute(.zero)) }
                await expectError(.invalidArgument) { try await store.touch(bystander.token, expiration: .idle(.zero)) }
            case .negativeTTL:
                await expectError(.invalidArgument) { try await store.create(expiration: .idle(.seconds(-5))) }
                await expectError(.invalidArgument) { try await store.create(expiration: .hybrid(idle: .seconds(1), absolute: .milliseconds(-1))) }
            case .hugeTTL:
                await expectError(.invalidArgument) { try await store.create(expiration: .absolute(.seconds(Int64.max))) }
                await expectError(.invalidArgument) { try await store.create(expiration: .idle(ExpirationPolicy.maximumLifetime + .seconds(1))) }
            case .longestTTL:
                let issued = try await store.create(expiration: .absolute(ExpirationPolicy.maximumLifetime))
                #expect(try await store.timeToLive(issued.token) == ExpirationPolicy.maximumLifetime)
            case .oneMillisecondTTL:
                let issued = try await store.create(expiration: .absolute(.milliseconds(1)))
                #expect(try await store.exists(issued.token))
            case .megabyteClientHeaders:
                let agent = String(repeating: "é", count: 1 << 19)
                let issued = try await store.create(client: SessionClient(ip: String(repeating: "1", count: 1 << 20), userAgent: agent))
                let loaded = try #require(try await store.load(issued.token))
                #expect(loaded.userAgent?.utf8.count ?? 0 <= 512 && loaded.userAgent?.allSatisfy { $0 == "é" } == true, "clipped at a character boundary")
                #expect(loaded.ip?.utf8.count == 512)
            default:
                Issue.record("no check for \(self)")
            }
        }
    }

    @Test(arguments: StoreVariant.all, Input.allCases)
    func input(_ variant: StoreVariant, _ input: Input) async throws {
        try await withStore(variant, policy: { $0.maxDataSize = Input.dataLimit }) { harness throws in
            let bystander = try await harness.store.create(userID: "bystander", data: Data(#"{"keep":true}"#), metadata: ["m": "1"])
            let before = try await harness.store.count()
            try await input.check(harness.store, bystander: bystander)
            let after = try #require(try await harness.store.load(bystander.token))
            #expect(after.data == Data(#"{"keep":true}"#) && after.metadata == ["m": "1"] && after.version == bystander.session.version)
            #expect(try await harness.store.count() >= before, "nothing was lost")
        }
    }

    @Test(arguments: StoreVariant.all)
    func concurrentRotateLoadAndDeleteOnOneToken(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let store = harness.store
            for round in 0..<8 {
                let issued = try await store.create(userID: "racer", data: Data("round \(round)"))
                let (rotated, deleted, loads) = try await withThrowingTaskGroup(of: Outcome.self) { group in
                    group.addTask { .rotated(try await store.rotate(issued.token)) }
                    group.addTask { .deleted(try await store.delete(issued.token)) }
                    for _ in 0..<16 { group.addTask { .loaded(try await store.load(issued.token)) } }
                    var rotated: IssuedSession??
                    var deleted: Bool?
                    var loads: [Session?] = []
                    for try await outcome in group {
                        switch outcome {
                        case .rotated(let value): rotated = .some(value)
                        case .deleted(let value): deleted = value
                        case .loaded(let value): loads.append(value)
                        }
                    }
                    return (rotated!, deleted!, loads)
                }
                // Whatever the order, the old token is dead, and exactly one of the two won.
                #expect(try await store.load(issued.token) == nil)
                if let rotated {
                    #expect(!deleted, "a rotation that happened first leaves nothing for the delete")
                    #expect(try await store.load(rotated.token)?.data == Data("round \(round)"))
                    #expect(try await store.delete(rotated.token))
                } else {
                    #expect(deleted)
                }
                #expect(loads.allSatisfy { $0 == nil || $0?.data == Data("round \(round)") }, "a racing load sees the session or nothing, never a mix")
            }
            #expect(try await store.sessions(forUser: "racer").isEmpty)
        }
    }

    enum Outcome: Sendable {
        case rotated(IssuedSession?)
        case deleted(Bool)
        case loaded(Session?)
    }
}

import Foundation
import Sessions
import SessionTestSupport
import Testing

/// Rotation that saves changes, per-user revocation, and the read-modify-write helper, over every store.
@Suite("SessionStore updates, rotation with changes, revocation")
struct SessionUpdateTests {
    struct Cart: Codable, Equatable {
        var items: [String] = []
    }

    @Test(arguments: StoreVariant.all)
    func rotatingWithChangesStoresThemUnderTheNewTokenInOneStep(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness in
            let store = harness.store
            let anonymous = try await store.create(value: Cart(items: ["pen"]))
            var changes = anonymous.session
            changes.userID = "alice"
            changes.metadata["login"] = "password"
            let rotated = try #require(try await store.rotate(anonymous.token, saving: changes, expectedVersion: anonymous.session.version))
            #expect(rotated.session.userID == "alice")
            #expect(rotated.session.version == anonymous.session.version + 1)
            #expect(try await store.load(anonymous.token) == nil)
            let loaded = try #require(try await store.load(rotated.token))
            #expect(loaded.userID == "alice")
            #expect(loaded.metadata == ["login": "password"])
            #expect(try loaded.decode(Cart.self) == Cart(items: ["pen"]))
            #expect(try await store.sessions(forUser: "alice").map(\.tokenHash) == [rotated.token.hash])

            // A user change moves the session between users' lists.
            var bob = loaded
            bob.userID = "bob"
            let again = try #require(try await store.rotate(rotated.token, saving: bob, expectedVersion: loaded.version))
            #expect(try await store.sessions(forUser: "alice").isEmpty)
            #expect(try await store.sessions(forUser: "bob").map(\.tokenHash) == [again.token.hash])

            // A stale version is a conflict, and nothing changes.
            await expectError(.conflict) { try await store.rotate(again.token, saving: bob, expectedVersion: loaded.version) }
            #expect(try await store.load(again.token)?.userID == "bob")
            #expect(try await store.rotate(SessionToken.generate(), saving: bob, expectedVersion: nil) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func rotatingWithChangesThatASaveWouldRefuseFailsAndChangesNothing(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.maxDataSize = 64 }) { harness in
            let issued = try await harness.store.create(userID: "alice")
            var changes = issued.session
            changes.data = Data(repeating: 0x61, count: 65)
            await expectError(.payloadTooLarge) { try await harness.store.rotate(issued.token, saving: changes, expectedVersion: nil) }
            #expect(try await harness.store.load(issued.token) != nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func revokingASessionNeedsItsOwner(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness in
            let store = harness.store
            let laptop = try await store.create(userID: "alice")
            let phone = try await store.create(userID: "alice")
            let anonymous = try await store.create()
            #expect(try await store.revokeSession(phone.session.tokenHash, ofUser: "mallory") == false)
            #expect(try await store.revokeSession(anonymous.session.tokenHash, ofUser: "alice") == false)
            #expect(try await store.load(phone.token) != nil)
            #expect(try await store.revokeSession(phone.session.tokenHash, ofUser: "alice"))
            #expect(try await store.load(phone.token) == nil)
            #expect(try await store.revokeSession(phone.session.tokenHash, ofUser: "alice") == false)
            #expect(try await store.sessions(forUser: "alice").map(\.tokenHash) == [laptop.token.hash])
            await expectError(.invalidArgument) { try await store.revokeSession(laptop.session.tokenHash, ofUser: "") }
        }
    }

    @Test(arguments: StoreVariant.all)
    func updateReplaysTheChangeWhenAnotherWriterSavedFirst(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness in
            let issued = try await harness.store.create(value: Cart(items: ["first"]))
            let backing = harness.store
            // Another request saves "rival" just before this one's first save reaches the store.
            let store = CountingSessionStore(wrapping: backing) { attempt in
                guard attempt == 1 else { return }
                var rival = try #require(try await backing.load(issued.token))
                try rival.encode(Cart(items: ["first", "rival"]))
                _ = try await backing.save(rival)
            }
            var runs = 0
            let result = try await store.update(issued.token, as: Cart.self) { cart in
                runs += 1
                cart.items.append("mine")
            }
            #expect(result == Cart(items: ["first", "rival", "mine"]))
            #expect(runs == 2)
            #expect(store.calls.saves == 2)
            #expect(try await backing.load(Cart.self, for: issued.token) == Cart(items: ["first", "rival", "mine"]))
        }
    }

    @Test(arguments: StoreVariant.all)
    func updateGivesUpWithAConflictAfterItsAttemptsAndNeverRecreates(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness in
            let issued = try await harness.store.create(value: Cart())
            let backing = harness.store
            let store = CountingSessionStore(wrapping: backing) { _ in
                var rival = try #require(try await backing.load(issued.token))
                try rival.encode(Cart(items: ["rival-\(UUID().uuidString)"]))
                _ = try await backing.save(rival)
            }
            await expectError(.conflict) {
                try await store.update(issued.token, as: Cart.self, maxAttempts: 3) { $0.items.append("mine") }
            }
            #expect(store.calls.saves == 3)

            // Unchanged contents write nothing; a missing session is nil, not an error.
            let before = store.calls.saves
            #expect(try await store.update(issued.token) { _ in } != nil)
            #expect(store.calls.saves == before)
            _ = try await backing.delete(issued.token)
            #expect(try await store.update(issued.token, as: Cart.self, default: Cart()) { $0.items.append("x") } == nil)
            #expect(try await backing.count() == 0)
        }
    }

    @Test(arguments: StoreVariant.all)
    func updateOfConcurrentWritersKeepsEveryChange(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness in
            let store = harness.store
            let issued = try await store.create(value: Cart())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        for item in 0..<5 {
                            try await store.update(issued.token, as: Cart.self, maxAttempts: 50) { $0.items.append("\(writer)-\(item)") }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let cart = try #require(try await store.load(Cart.self, for: issued.token))
            #expect(cart.items.count == 20)
            #expect(Set(cart.items).count == 20)
        }
    }
}

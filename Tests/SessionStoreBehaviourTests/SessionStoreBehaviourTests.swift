import Foundation
import Sessions
import SessionTestSupport
import Testing

/// The contract of ``SessionStore``, run against every conformer.
@Suite("SessionStore behaviour")
struct SessionStoreBehaviourTests {
    // MARK: Create and load

    @Test(arguments: StoreVariant.all)
    func createThenLoadReturnsTheStoredSession(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let store = harness.store
            let issued = try await store.create(
                userID: "alice",
                data: Data(#"{"cart":[1,2]}"#),
                metadata: ["device": "laptop"],
                client: SessionClient(ip: "203.0.113.7", userAgent: "Firefox/140")
            )
            #expect(issued.token.stringValue.count == 43)
            #expect(issued.session.tokenHash == issued.token.hash)
            #expect(issued.session.version == 1)
            #expect(issued.session.createdAt == harness.start)

            let loaded = try #require(try await store.load(issued.token))
            #expect(loaded.id == issued.session.id)
            #expect(loaded.userID == "alice")
            #expect(loaded.data == Data(#"{"cart":[1,2]}"#))
            #expect(loaded.metadata == ["device": "laptop"])
            #expect(loaded.ip == "203.0.113.7")
            #expect(loaded.userAgent == "Firefox/140")
            #expect(loaded.lastSeenIP == "203.0.113.7")
            #expect(loaded == issued.session)

            let reparsed = try SessionToken(issued.token.stringValue)
            #expect(try await store.load(reparsed) == loaded)
        }
    }

    @Test(arguments: StoreVariant.all)
    func unknownTokenLoadsAsNil(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            #expect(try await harness.store.load(SessionToken.generate()) == nil)
            #expect(try await harness.store.exists(SessionToken.generate()) == false)
            #expect(try await harness.store.timeToLive(SessionToken.generate()) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func anonymousSessionsAndEmptyDataAreKept(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let issued = try await harness.store.create()
            let loaded = try #require(try await harness.store.load(issued.token))
            #expect(loaded.userID == nil)
            #expect(loaded.data.isEmpty)
            #expect(loaded.metadata.isEmpty)
        }
    }

    @Test(arguments: StoreVariant.all)
    func typedCodableConvenience(_ variant: StoreVariant) async throws {
        struct Cart: Codable, Equatable { var items: [String] }
        try await withStore(variant) { harness throws in
            let issued = try await harness.store.create(userID: "bob", value: Cart(items: ["book"]))
            #expect(try await harness.store.load(Cart.self, for: issued.token) == Cart(items: ["book"]))
            var session = try #require(try await harness.store.load(issued.token))
            try session.encode(Cart(items: ["book", "pen"]))
            _ = try await harness.store.save(session)
            #expect(try await harness.store.load(Cart.self, for: issued.token) == Cart(items: ["book", "pen"]))
        }
    }

    // MARK: Expiry

    @Test(arguments: StoreVariant.all)
    func absoluteExpiryEndsExactlyAtTheDeadline(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(60)) }) { harness throws in
            let issued = try await harness.store.create(userID: "u")
            #expect(issued.session.expiresAt == harness.start + .seconds(60))
            harness.clock.advance(by: .milliseconds(59_999))
            #expect(try await harness.store.load(issued.token) != nil)
            #expect(try await harness.store.timeToLive(issued.token) == .milliseconds(1))
            harness.clock.advance(by: .milliseconds(1))
            #expect(try await harness.store.load(issued.token) == nil)
            #expect(try await harness.store.exists(issued.token) == false)
            #expect(try await harness.store.timeToLive(issued.token) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func absoluteExpiryIsNotExtendedByUse(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(60)) }) { harness throws in
            let issued = try await harness.store.create()
            for _ in 0..<5 {
                harness.clock.advance(by: .seconds(10))
                _ = try await harness.store.load(issued.token)
                _ = try await harness.store.touch(issued.token)
            }
            harness.clock.advance(by: .seconds(10))
            #expect(try await harness.store.load(issued.token) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func idleExpirySlidesWithUse(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .idle(.seconds(100)); $0.touchInterval = .zero }) { harness throws in
            let issued = try await harness.store.create()
            // Used every 90 s, the session outlives many idle periods.
            for _ in 0..<10 {
                harness.clock.advance(by: .seconds(90))
                let loaded = try #require(try await harness.store.load(issued.token))
                #expect(loaded.expiresAt == harness.clock.now + .seconds(100))
            }
            harness.clock.advance(by: .milliseconds(99_999))
            #expect(try await harness.store.exists(issued.token))
            harness.clock.advance(by: .milliseconds(1))
            #expect(try await harness.store.load(issued.token) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func touchCoalescingKeepsTheDeadlineAheadOfUse(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .idle(.seconds(100)); $0.touchInterval = .seconds(10) }) { harness throws in
            let issued = try await harness.store.create()
            // Used every 5 s for 10 idle periods: every answer's deadline is at least
            // idle - touchInterval ahead, whatever was persisted when.
            for _ in 0..<200 {
                harness.clock.advance(by: .seconds(5))
                let loaded = try #require(try await harness.store.load(issued.token))
                #expect(loaded.expiresAt >= harness.clock.now + .seconds(90))
                #expect(loaded.lastSeenAt <= harness.clock.now)
            }
            // After the last use, it lives at least idle - touchInterval more.
            harness.clock.advance(by: .seconds(89))
            #expect(try await harness.store.exists(issued.token))
            let writes = try #require(try await harness.store.stats().writes)
            #expect(writes.touchesPersisted <= 200 / 2 + 1, "touches are coalesced: \(writes.touchesPersisted)")
        }
    }

    @Test(arguments: StoreVariant.all)
    func hybridExpiryIsCappedByTheAbsoluteDeadline(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: {
            $0.expiration = .hybrid(idle: .seconds(30), absolute: .seconds(100))
            $0.touchInterval = .zero
        }) { harness throws in
            let issued = try await harness.store.create()
            #expect(issued.session.expiresAt == harness.start + .seconds(30))
            for _ in 0..<4 {
                harness.clock.advance(by: .seconds(20))
                #expect(try await harness.store.load(issued.token) != nil)
            }
            // At 80 s, idle would allow 110 s; the absolute deadline at 100 s wins.
            #expect(try await harness.store.timeToLive(issued.token) == .seconds(20))
            harness.clock.advance(by: .seconds(19))
            #expect(try await harness.store.load(issued.token) != nil)
            harness.clock.advance(by: .seconds(1))
            #expect(try await harness.store.load(issued.token) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func idleSessionExpiresWithoutUse(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .hybrid(idle: .seconds(30), absolute: .seconds(3600)) }) { harness throws in
            let issued = try await harness.store.create()
            harness.clock.advance(by: .seconds(30))
            #expect(try await harness.store.load(issued.token) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func perSessionExpiryOverridesTheStoreDefault(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(3600)) }) { harness throws in
            let short = try await harness.store.create(expiration: .absolute(.seconds(10)))
            let long = try await harness.store.create()
            let sliding = try await harness.store.create(expiration: .idle(.seconds(20)))
            #expect(short.session.expiresAt == harness.start + .seconds(10))
            #expect(sliding.session.deadlines.idleTimeout == .seconds(20))
            harness.clock.advance(by: .seconds(10))
            #expect(try await harness.store.load(short.token) == nil)
            #expect(try await harness.store.load(long.token) != nil)
            #expect(try await harness.store.load(sliding.token) != nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func setExpirationAndTouchReplaceThePolicyFromNow(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(60)) }) { harness throws in
            let issued = try await harness.store.create()
            harness.clock.advance(by: .seconds(50))
            let extended = try #require(try await harness.store.setExpiration(.absolute(.seconds(600)), for: issued.token))
            #expect(extended.expiresAt == harness.clock.now + .seconds(600))
            #expect(extended.version == 2)
            #expect(try await harness.store.timeToLive(issued.token) == .seconds(600))
            harness.clock.advance(by: .seconds(100))
            let touched = try #require(try await harness.store.touch(issued.token, expiration: .idle(.seconds(5))))
            #expect(touched.expiresAt == harness.clock.now + .seconds(5))
            harness.clock.advance(by: .seconds(5))
            #expect(try await harness.store.touch(issued.token) == nil)
            #expect(try await harness.store.setExpiration(.absolute(.seconds(60)), for: issued.token) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func touchPersistsTheUse(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .idle(.seconds(60)); $0.touchInterval = .seconds(30) }) { harness throws in
            let issued = try await harness.store.create()
            harness.clock.advance(by: .seconds(1))
            let touched = try #require(try await harness.store.touch(issued.token))
            #expect(touched.lastSeenAt == harness.clock.now)
            #expect(touched.version == 1, "a touch is not a change of data")
            let loaded = try #require(try await harness.store.load(issued.token))
            #expect(loaded.lastSeenAt == harness.clock.now)
        }
    }

    @Test(arguments: StoreVariant.all)
    func invalidPoliciesAreRejected(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            for bad: ExpirationPolicy in [
                .absolute(.zero), .idle(.seconds(-5)), .hybrid(idle: .seconds(1), absolute: .zero),
                .absolute(.seconds(Int64.max)), .idle(ExpirationPolicy.maximumLifetime + .seconds(1)),
            ] {
                await expectError(.invalidArgument) { try await harness.store.create(expiration: bad) }
            }
            let issued = try await harness.store.create()
            await expectError(.invalidArgument) { try await harness.store.touch(issued.token, expiration: .idle(.zero)) }
            let longest = try await harness.store.create(expiration: .absolute(ExpirationPolicy.maximumLifetime))
            #expect(try await harness.store.load(longest.token) != nil)
        }
    }

    // MARK: Save

    @Test(arguments: StoreVariant.all)
    func saveUpdatesDataUserAndMetadataAndBumpsTheVersion(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let issued = try await harness.store.create(userID: "alice", data: Data("v1"))
            harness.clock.advance(by: .seconds(3))
            var session = issued.session
            session.data = Data("v2")
            session.userID = "alice-admin"
            session.metadata = ["role": "admin"]
            let saved = try await harness.store.save(session)
            #expect(saved.version == 2)
            #expect(saved.updatedAt == harness.clock.now)
            #expect(saved.createdAt == harness.start)
            let loaded = try #require(try await harness.store.load(issued.token))
            #expect(loaded.data == Data("v2"))
            #expect(loaded.userID == "alice-admin")
            #expect(loaded.metadata == ["role": "admin"])
            #expect(try await harness.store.sessions(forUser: "alice").isEmpty)
            #expect(try await harness.store.sessions(forUser: "alice-admin").map(\.id) == [loaded.id])
        }
    }

    @Test(arguments: StoreVariant.all)
    func saveWithAStaleVersionConflicts(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let issued = try await harness.store.create(data: Data("v1"))
            var first = issued.session
            first.data = Data("from request A")
            let saved = try await harness.store.save(first, expectedVersion: 1)
            #expect(saved.version == 2)
            var second = issued.session
            second.data = Data("from request B")
            await expectError(.conflict) { try await harness.store.save(second, expectedVersion: 1) }
            #expect(try await harness.store.load(issued.token)?.data == Data("from request A"))
            _ = try await harness.store.save(second, expectedVersion: 2)
            #expect(try await harness.store.load(issued.token)?.data == Data("from request B"))
        }
    }

    @Test(arguments: StoreVariant.all)
    func saveNeverResurrectsADeletedSession(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let issued = try await harness.store.create(userID: "carol", data: Data("secret"))
            #expect(try await harness.store.delete(issued.token))
            var session = issued.session
            session.data = Data("written by a slow request")
            await expectError(.notFound) { try await harness.store.save(session) }
            #expect(try await harness.store.load(issued.token) == nil)
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }

    @Test(arguments: StoreVariant.all)
    func saveDoesNotRenewAnExpiredSession(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(10)) }) { harness throws in
            let issued = try await harness.store.create()
            harness.clock.advance(by: .seconds(10))
            await expectError(.notFound) { try await harness.store.save(issued.session) }
            #expect(try await harness.store.load(issued.token) == nil)
        }
    }

    @Test(arguments: StoreVariant.all)
    func batchSaveReportsSessionsThatAreGone(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let a = try await harness.store.create(data: Data("a"))
            let b = try await harness.store.create(data: Data("b"))
            let c = try await harness.store.create(data: Data("c"))
            _ = try await harness.store.delete(b.token)
            var sessions = [a.session, b.session, c.session]
            for index in sessions.indices { sessions[index].data = Data("new") }
            let saved = try await harness.store.save(sessions)
            #expect(saved.map { $0 != nil } == [true, false, true])
            #expect(try await harness.store.load(a.token)?.data == Data("new"))
            #expect(try await harness.store.load(c.token)?.data == Data("new"))
            #expect(try await harness.store.load(b.token) == nil)
        }
    }

    // MARK: Delete, rotate, users

    @Test(arguments: StoreVariant.all)
    func deleteReportsWhetherTheSessionExisted(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(10)) }) { harness throws in
            let issued = try await harness.store.create()
            #expect(try await harness.store.delete(issued.token))
            #expect(try await harness.store.delete(issued.token) == false)
            #expect(try await harness.store.delete(SessionToken.generate()) == false)

            let expiring = try await harness.store.create()
            harness.clock.advance(by: .seconds(10))
            #expect(try await harness.store.delete(expiring.token) == false, "an expired session counts as gone")
            #expect(try await harness.store.count(includeExpired: true) == 0, "but its row is removed")
        }
    }

    @Test(arguments: StoreVariant.all)
    func batchDeleteCountsLiveSessions(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            var tokens: [SessionToken] = []
            for _ in 0..<5 { tokens.append(try await harness.store.create().token) }
            #expect(try await harness.store.delete(Array(tokens[0..<3]) + [SessionToken.generate()]) == 3)
            #expect(try await harness.store.count() == 2)
        }
    }

    @Test(arguments: StoreVariant.all)
    func rotationIssuesANewTokenAndKillsTheOldOne(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let issued = try await harness.store.create(userID: "dave", data: Data("cart"), metadata: ["k": "v"])
            harness.clock.advance(by: .seconds(1))
            let rotated = try #require(try await harness.store.rotate(issued.token))
            #expect(rotated.token != issued.token)
            #expect(rotated.session.id == issued.session.id)
            #expect(rotated.session.tokenHash == rotated.token.hash)
            #expect(rotated.session.version == issued.session.version + 1)
            #expect(rotated.session.createdAt == issued.session.createdAt)
            #expect(try await harness.store.load(issued.token) == nil)
            let loaded = try #require(try await harness.store.load(rotated.token))
            #expect(loaded.data == Data("cart"))
            #expect(loaded.userID == "dave")
            #expect(loaded.metadata == ["k": "v"])
            await expectError(.notFound) { try await harness.store.save(issued.session) }
            #expect(try await harness.store.rotate(issued.token) == nil)
            #expect(try await harness.store.sessions(forUser: "dave").count == 1)
        }
    }

    @Test(arguments: StoreVariant.all)
    func userIndexListsAndRevokesOneUsersSessions(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(100)) }) { harness throws in
            var erin: [IssuedSession] = []
            for _ in 0..<3 {
                erin.append(try await harness.store.create(userID: "erin"))
                harness.clock.advance(by: .seconds(1))
            }
            let expiring = try await harness.store.create(userID: "erin", expiration: .absolute(.seconds(1)))
            let frank = try await harness.store.create(userID: "frank")
            let anonymous = try await harness.store.create()
            harness.clock.advance(by: .seconds(1))

            let listed = try await harness.store.sessions(forUser: "erin")
            #expect(listed.map(\.id) == erin.map(\.session.id), "oldest first, expired left out")
            #expect(try await harness.store.sessions(forUser: "nobody").isEmpty)

            #expect(try await harness.store.deleteSessions(forUser: "erin") == 3)
            for issued in erin + [expiring] { #expect(try await harness.store.load(issued.token) == nil) }
            #expect(try await harness.store.load(frank.token) != nil)
            #expect(try await harness.store.load(anonymous.token) != nil)
            #expect(try await harness.store.deleteSessions(forUser: "erin") == 0)
            #expect(try await harness.store.count(includeExpired: true) == 2)
        }
    }

    // MARK: Listing, counting, stats, purge

    @Test(arguments: StoreVariant.all)
    func listPagesThroughEverySessionOnce(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(100)) }) { harness throws in
            var ids: [Int64] = []
            for index in 0..<25 {
                let issued = try await harness.store.create(
                    userID: index.isMultiple(of: 5) ? "grace" : nil,
                    expiration: index.isMultiple(of: 4) ? .absolute(.seconds(1)) : nil
                )
                ids.append(issued.session.id)
            }
            harness.clock.advance(by: .seconds(1))

            var seen: [Int64] = []
            var cursor: SessionCursor?
            repeat {
                let page = try await harness.store.list(SessionQuery(after: cursor, limit: 4))
                #expect(page.sessions.count <= 4)
                seen += page.sessions.map(\.id)
                cursor = page.next
            } while cursor != nil
            let live = ids.enumerated().filter { !$0.offset.isMultiple(of: 4) }.map(\.element)
            #expect(Set(seen).count == seen.count, "no session is listed twice")
            // Redis lists in SCAN order; every other store in id order.
            #expect((variant.kind == .redis ? seen.sorted() : seen) == live)

            let all = try await harness.store.list(SessionQuery(includeExpired: true, limit: 100))
            #expect(all.sessions.map(\.id).sorted() == ids)
            #expect(all.next == nil)

            let grace = try await harness.store.list(SessionQuery(userID: "grace", includeExpired: true, limit: 100))
            #expect(grace.sessions.map(\.id) == ids.enumerated().filter { $0.offset.isMultiple(of: 5) }.map(\.element))

            await expectError(.invalidArgument) { try await harness.store.list(SessionQuery(limit: 0)) }
            await expectError(.invalidArgument) {
                try await harness.store.list(SessionQuery(after: SessionCursor(rawValue: "'; DROP TABLE sessions; --")))
            }
        }
    }

    @Test(arguments: StoreVariant.all)
    func countStatsAndPurge(_ variant: StoreVariant) async throws {
        try await withStore(variant, policy: { $0.expiration = .absolute(.seconds(100)) }) { harness throws in
            for index in 0..<10 {
                _ = try await harness.store.create(
                    userID: "user\(index % 3)",
                    expiration: index < 4 ? .absolute(.seconds(10)) : nil
                )
            }
            harness.clock.advance(by: .seconds(10))
            #expect(try await harness.store.count() == 6)
            #expect(try await harness.store.count(includeExpired: true) == 10)

            let stats = try await harness.store.stats()
            #expect(stats.total == 10)
            #expect(stats.active == 6)
            #expect(stats.expired == 4)
            #expect(stats.users == 3)
            #expect(stats.averageAge == .seconds(10))

            #expect(try await harness.store.purgeExpired(limit: 3) == 3)
            #expect(try await harness.store.purgeExpired(limit: 100) == 1)
            #expect(try await harness.store.purgeExpired(limit: 100) == 0)
            #expect(try await harness.store.count(includeExpired: true) == 6)
            await expectError(.invalidArgument) { try await harness.store.purgeExpired(limit: 0) }
        }
    }

    // Bad input: see BadInputTests.swift.

    // MARK: Lifecycle

    @Test(arguments: StoreVariant.all)
    func healthAndClose(_ variant: StoreVariant) async throws {
        let harness = try StoreHarness.make(variant)
        let issued = try await harness.store.create()
        #expect(await harness.store.healthCheck().status == .healthy)
        try await harness.store.close()
        try await harness.store.close()
        #expect(await harness.store.healthCheck().status == .unhealthy)
        await expectError(.closed) { try await harness.store.load(issued.token) }
        await expectError(.closed) { try await harness.store.create() }
        try await harness.tearDown()
    }

    @Test(arguments: StoreVariant.all)
    func concurrentWritersAndReadersAgree(_ variant: StoreVariant) async throws {
        try await withStore(variant) { harness throws in
            let store = harness.store
            let issued = try await withThrowingTaskGroup(of: IssuedSession.self) { group in
                for index in 0..<64 {
                    group.addTask { try await store.create(userID: "user\(index % 8)", data: Data("\(index)")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(issued.map(\.session.id)).count == 64)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for session in issued {
                    group.addTask {
                        let loaded = try await store.load(session.token)
                        #expect(loaded?.data == session.session.data)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.count() == 64)
            #expect(try await store.stats().users == 8)
        }
    }
}

#if Vapor
import Foundation
import Sessions
import SessionTestSupport
import Testing
import Vapor
import VaporSessions
import VaporTesting
import SQLiteSessions

/// A user Vapor's own session authentication can store.
struct Member: SessionAuthenticatable {
    var sessionID: String
}

/// The session cookie a response set, and the `Cookie` header that sends it back.
func sessionCookie(_ response: TestingHTTPResponse, name: String = "__Host-session") -> String? {
    response.headers[.setCookie].first { $0.hasPrefix("\(name)=") }
}

func cookieHeader(_ setCookie: String?) -> HTTPHeaders {
    guard let pair = setCookie?.split(separator: ";").first else { return [:] }
    return ["Cookie": String(pair)]
}

func cookie(_ token: SessionToken, name: String = "__Host-session") -> HTTPHeaders {
    ["Cookie": "\(name)=\(token.stringValue)"]
}

let vaporStoreKinds: [StoreKind] = [.memory, .sqlite, .cachedSQLite]

/// `SessionStoreMiddleware` on Vapor: `req.session` (Vapor's dictionary of strings and its
/// session authentication) and `req.storeSession` (typed data, login, devices) on one session.
@Suite("Vapor sessions")
struct VaporSessionsTests {
    struct Cart: Codable, Sendable {
        var items: [String] = []
    }

    /// CSRF checks are off here (the requests carry no token); `VaporCSRFTests` turns them on.
    static func configure(_ app: Application, store: any SessionStore, cookie: SessionCookieOptions = .secure, gate: Gate? = nil) throws {
        app.middleware.use(try SessionStoreMiddleware(store: store, cookie: cookie, csrf: .disabled))
        app.get("data") { req in "\(req.storeSession.userID ?? "anonymous"):\(req.session.data["k"] ?? "none")" }
        app.post("set", ":key", ":value") { req in
            req.session.data[try req.parameters.require("key")] = try req.parameters.require("value")
            if let gate { await gate.enterAndWait() }
            return "set"
        }
        app.post("login", ":user") { req in
            try req.storeSession.logIn(userID: try req.parameters.require("user"))
            return "welcome"
        }
        app.post("authenticate", ":user") { req in
            req.session.authenticate(Member(sessionID: try req.parameters.require("user")))
            return "welcome"
        }
        app.post("unauthenticate") { req in
            req.session.unauthenticate(Member.self)
            return "bye"
        }
        app.post("logout") { req in
            req.session.destroy()
            return "bye"
        }
        app.post("store-logout") { req in
            try req.storeSession.logOut()
            return "bye"
        }
        app.post("everywhere") { req in "\(try await req.storeSession.logOutEverywhere())" }
        app.get("devices") { req in
            try await req.storeSession.sessionsOfUser().map { "\($0.tokenHash.hex)\(req.storeSession.isCurrent($0) ? "*" : "")" }.joined(separator: "\n")
        }
        app.post("fail") { req -> String in
            req.session.data["k"] = "never"
            throw Abort(.expectationFailed)
        }
        app.post("big") { req in
            req.session.data["k"] = String(repeating: "x", count: store.policy.maxDataSize + 1)
            return "stored"
        }
        app.get("cart") { req in
            "\(req.storeSession.userID ?? "anonymous"):\((try req.storeSession.data(as: Cart.self) ?? Cart()).items.joined(separator: ","))"
        }
        app.post("cart", ":item") { req in
            let item = try req.parameters.require("item")
            try req.storeSession.updateData(as: Cart.self, default: Cart()) { $0.items.append(item) }
            return "added"
        }
    }

    @Test(arguments: vaporStoreKinds)
    func aRequestWithoutOrWithAMalformedCookieCostsNothingAndStoresNothing(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            try await withApp(configure: { try Self.configure($0, store: store) }) { app in
                for headers: HTTPHeaders in [[:], ["Cookie": "__Host-session=garbage"], ["Cookie": "__Host-session=\(String(repeating: "A", count: 44))"]] {
                    try await app.testing().test(.GET, "data", headers: headers) { response in
                        #expect(response.status == .ok)
                        #expect(response.body.string == "anonymous:none")
                        if headers.contains(name: "Cookie") {
                            #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                        } else {
                            #expect(response.headers[.setCookie].isEmpty)
                        }
                    }
                }
            }
            #expect(store.calls.total == 0)
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }

    @Test(arguments: vaporStoreKinds)
    func anUnknownOrExpiredSessionIsReadOnceAndCreatesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let expiring = try await harness.store.create(data: Data(#"{"k":"old"}"#.utf8), expiration: .absolute(.seconds(60)))
            harness.clock.advance(by: .seconds(61))
            let store = CountingSessionStore(wrapping: harness.store)
            try await withApp(configure: { try Self.configure($0, store: store) }) { app in
                for token in [SessionToken.generate(), expiring.token] {
                    try await app.testing().test(.GET, "data", headers: cookie(token)) { response in
                        #expect(response.body.string == "anonymous:none")
                    }
                }
            }
            #expect(store.calls.loads == 2)
            #expect(store.calls.writes == 0)
            #expect(try await harness.store.count() == 0)
        }
    }

    @Test(arguments: vaporStoreKinds)
    func aReadWritesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(userID: "alice", data: Data(#"{"k":"v"}"#.utf8))
            let store = CountingSessionStore(wrapping: harness.store)
            let before = try await harness.store.stats().writes?.operations
            try await withApp(configure: { try Self.configure($0, store: store) }) { app in
                for _ in 0..<10 {
                    try await app.testing().test(.GET, "data", headers: cookie(issued.token)) { response in
                        #expect(response.body.string == "alice:v")
                        #expect(response.headers[.setCookie].isEmpty)
                    }
                }
            }
            if let cached = harness.store as? CachedSessionStore { await cached.waitForPendingTouches() }
            #expect(store.calls.writes == 0)
            #expect(try await harness.store.stats().writes?.operations == before)
        }
    }

    @Test(arguments: vaporStoreKinds)
    func loggingInRotatesAndTheOldCookieIsDead(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            try await withApp(configure: { try Self.configure($0, store: harness.store) }) { app in
                var anonymous: String?
                try await app.testing().test(.POST, "set/k/cart", afterResponse: { anonymous = sessionCookie($0) })
                let anonymousCookie = try #require(anonymous)
                var loggedIn: String?
                try await app.testing().test(.POST, "login/alice", headers: cookieHeader(anonymousCookie)) { loggedIn = sessionCookie($0) }
                let userCookie = try #require(loggedIn)
                #expect(userCookie != anonymousCookie)
                #expect(userCookie.contains("HttpOnly"))
                #expect(userCookie.contains("Secure"))
                #expect(userCookie.contains("SameSite=Lax"))
                try await app.testing().test(.GET, "data", headers: cookieHeader(userCookie)) { response in
                    #expect(response.body.string == "alice:cart")
                }
                try await app.testing().test(.GET, "data", headers: cookieHeader(anonymousCookie)) { response in
                    #expect(response.body.string == "anonymous:none")
                }
            }
            #expect(try await harness.store.sessions(forUser: "alice").count == 1)
            #expect(try await harness.store.count() == 1)
        }
    }

    @Test(arguments: vaporStoreKinds)
    func vaporsOwnSessionAuthenticationRecordsTheUserAndRotates(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(data: Data(#"{"k":"v"}"#.utf8))
            try await withApp(configure: { try Self.configure($0, store: harness.store) }) { app in
                var rotated: String?
                try await app.testing().test(.POST, "authenticate/bob", headers: cookie(issued.token)) { rotated = sessionCookie($0) }
                #expect(rotated?.contains(issued.token.stringValue) == false)
                try await app.testing().test(.GET, "data", headers: cookieHeader(rotated)) { response in
                    #expect(response.body.string == "bob:v")
                }
                // Vapor's logout of the user ends the login: the user is cleared and the token rotated.
                var anonymous: String?
                try await app.testing().test(.POST, "unauthenticate", headers: cookieHeader(rotated)) { anonymous = sessionCookie($0) }
                #expect(anonymous != nil && anonymous != rotated)
                try await app.testing().test(.GET, "data", headers: cookieHeader(anonymous)) { response in
                    #expect(response.body.string == "anonymous:v")
                }
                try await app.testing().test(.POST, "authenticate/bob", headers: cookieHeader(anonymous)) { rotated = sessionCookie($0) }
                try await app.testing().test(.POST, "everywhere", headers: cookieHeader(rotated)) { response in
                    #expect(response.body.string == "1")
                    #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                }
            }
            #expect(try await harness.store.load(issued.token) == nil)
            #expect(try await harness.store.count() == 0)
        }
    }

    @Test(arguments: vaporStoreKinds)
    func concurrentChangesToOneSessionAreMerged(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(data: Data(#"{"first":"1"}"#.utf8))
            try await withApp(configure: { try Self.configure($0, store: harness.store) }) { app in
                let tester = try app.testing()
                let accepted = try await withThrowingTaskGroup(of: String?.self) { group in
                    for index in 0..<12 {
                        group.addTask {
                            var landed: String?
                            try await tester.test(.POST, "set/key\(index)/\(index)", headers: cookie(issued.token)) { response in
                                #expect(response.status == .ok || response.status == .conflict)
                                if response.status == .ok { landed = "key\(index)" }
                            }
                            return landed
                        }
                    }
                    return try await group.reduce(into: Set<String>()) { if let key = $1 { $0.insert(key) } }
                }
                let stored = try #require(try await harness.store.load(issued.token))
                let values = try JSONDecoder().decode([String: String].self, from: stored.data)
                #expect(values["first"] == "1")
                // Every change that was answered 200 landed, merged with the others; none was lost.
                #expect(Set(values.keys.filter { $0 != "first" }) == accepted)
                #expect(!accepted.isEmpty)
            }
        }
    }

    @Test(arguments: vaporStoreKinds)
    func aLogoutRacingASaveIsNotUndone(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(userID: "alice", data: Data(#"{"k":"v"}"#.utf8))
            let gate = Gate()
            try await withApp(configure: { try Self.configure($0, store: harness.store, gate: gate) }) { app in
                let tester = try app.testing()
                async let slow = tester.test(.POST, "set/k/late", headers: cookie(issued.token)) { _ in }
                try await waitUntil("the save reached its handler") { gate.entered }
                try await tester.test(.POST, "logout", headers: cookie(issued.token)) { _ in }
                gate.release()
                _ = try await slow
            }
            #expect(try await harness.store.load(issued.token) == nil)
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }

    @Test(arguments: vaporStoreKinds)
    func aHandlerThatThrowsWritesNothingAndOversizeDataIsA413(kind: StoreKind) async throws {
        try await withStore(kind, policy: { $0.maxDataSize = 2048 }) { harness in
            let issued = try await harness.store.create(data: Data(#"{"k":"kept"}"#.utf8))
            let store = CountingSessionStore(wrapping: harness.store)
            try await withApp(configure: { try Self.configure($0, store: store) }) { app in
                try await app.testing().test(.POST, "fail", headers: cookie(issued.token)) { response in
                    #expect(response.status == .expectationFailed)
                }
                #expect(store.calls.writes == 0)
                try await app.testing().test(.POST, "big", headers: cookie(issued.token)) { response in
                    #expect(response.status == .payloadTooLarge)
                }
            }
            #expect(try await harness.store.load(issued.token)?.data == Data(#"{"k":"kept"}"#.utf8))
        }
    }

    @Test func aFloodOfUnknownCookiesLeavesNoRows() async throws {
        try await withStore(.sqlite) { harness in
            try await withApp(configure: { try Self.configure($0, store: harness.store) }) { app in
                let tester = try app.testing()
                for _ in 0..<1000 {
                    try await tester.test(.GET, "data", headers: cookie(SessionToken.generate())) { _ in }
                }
            }
            // Vapor's middleware creates a session for every unknown cookie; none is stored.
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }

    @Test func typedDataLoginAndDevicesThroughStoreSessionAndALogoutClearsWithTheDomain() async throws {
        let options = SessionCookieOptions(name: "sid", domain: "shop.example", path: "/", secure: true)
        try await withStore(.sqlite, policy: { $0.maxDataSize = 2048 }) { harness in
            let other = try await harness.store.create(userID: "alice", data: Data())
            try await withApp(configure: { try Self.configure($0, store: harness.store, cookie: options) }) { app in
                var first: String?
                try await app.testing().test(.POST, "cart/book") { first = sessionCookie($0, name: "sid") }
                var second: String?
                try await app.testing().test(.POST, "login/alice", headers: cookieHeader(first)) { second = sessionCookie($0, name: "sid") }
                #expect(second != nil && second != first)
                #expect(second?.contains("Domain=shop.example") == true)
                try await app.testing().test(.GET, "cart", headers: cookieHeader(second)) { response in
                    #expect(response.body.string == "alice:book")
                }
                try await app.testing().test(.GET, "cart", headers: cookieHeader(first)) { response in
                    #expect(response.body.string == "anonymous:")
                }
                try await app.testing().test(.GET, "devices", headers: cookieHeader(second)) { response in
                    let lines = response.body.string.split(separator: "\n")
                    #expect(lines.count == 2)
                    #expect(lines.contains { $0 == other.session.tokenHash.hex })
                    #expect(lines.filter { $0.hasSuffix("*") }.count == 1)
                }
                // Typed data is not Vapor's dictionary of strings: req.session.data cannot overwrite it.
                try await app.testing().test(.POST, "set/k/v", headers: cookieHeader(second)) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.body.string.contains("req.storeSession"))
                }
                try await app.testing().test(.POST, "store-logout", headers: cookieHeader(second)) { response in
                    #expect(sessionCookie(response, name: "sid") == "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Domain=shop.example; Secure; HttpOnly; SameSite=Lax")
                    #expect(response.headers[.setCookie].count == 1)
                }
            }
            #expect(try await harness.store.count() == 1)
        }
    }

    @Test func aLogoutThroughStoreSessionIsNotUndoneByVaporsSessionChanges() async throws {
        try await withStore(.sqlite) { harness in
            let issued = try await harness.store.create(userID: "alice", data: Data(#"{"_MemberSession":"alice","k":"v"}"#.utf8))
            try await withApp(configure: { app in
                try Self.configure(app, store: harness.store)
                // What a session authenticator does after the handler logged the user out.
                app.post("logout-and-unauthenticate") { req in
                    try req.storeSession.logOut()
                    req.session.unauthenticate(Member.self)
                    return "bye"
                }
            }) { app in
                try await app.testing().test(.POST, "logout-and-unauthenticate", headers: cookie(issued.token)) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.setCookie].count == 1)
                    #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                }
            }
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }

    @Test func theProviderInstallsEverythingInOneCallAndClosesTheStoreAtShutdown() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteSessionStore(path: directory.appendingPathComponent("provider.sqlite").path)
        try await withApp(configure: { app in
            try app.sessions.use(.store(store, csrf: .disabled))
            app.post("set", ":value") { req in
                req.session.data["k"] = try req.parameters.require("value")
                return "set"
            }
            app.get("data") { req in req.session.data["k"] ?? "none" }
            // Installed a second time on a group: the outer one does the work.
            #expect(app.sessions.driver is SessionStoreDriver)
            app.grouped(try app.sessions.storeMiddleware).post("group", ":value") { req in
                req.session.data["k"] = try req.parameters.require("value")
                // The handler's own cookies survive Vapor's rewriting of Set-Cookie.
                let response = Response(body: "set")
                response.headers.add(name: .setCookie, value: "theme=dark; Path=/; Secure; Partitioned")
                return response
            }
        }) { app in
            var cookie: String?
            try await app.testing().test(.POST, "set/v") { response in
                cookie = sessionCookie(response)
                #expect(response.headers[.setCookie].count == 1)
            }
            try await app.testing().test(.GET, "data", headers: cookieHeader(cookie)) { response in
                #expect(response.body.string == "v")
            }
            try await app.testing().test(.POST, "group/w", headers: cookieHeader(cookie)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.setCookie] == ["theme=dark; Path=/; Secure; Partitioned"])
            }
            try await app.testing().test(.GET, "data", headers: cookieHeader(cookie)) { response in
                #expect(response.body.string == "w")
            }
        }
        await #expect(throws: SessionStoreError.self) { _ = try await store.count() }
    }
}
#endif

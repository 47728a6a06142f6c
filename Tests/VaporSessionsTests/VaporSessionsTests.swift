#if Vapor
import Foundation
import Sessions
import SessionTestSupport
import Synchronization
import Testing
import Vapor
import VaporSessions
import VaporTesting

/// Holds a request inside its handler until the test lets it go.
final class Gate: Sendable {
    private let state = Mutex<(entered: Bool, released: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, false, []))

    func enterAndWait() async {
        await withCheckedContinuation { continuation in
            state.withLock { state in
                state.entered = true
                if state.released { continuation.resume() } else { state.waiters.append(continuation) }
            }
        }
    }

    var entered: Bool { state.withLock { $0.entered } }

    func release() {
        let waiters = state.withLock { state in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

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

/// Vapor's `req.session` on this package's store, through Vapor's own `SessionsMiddleware`.
@Suite("Vapor session driver")
struct VaporSessionDriverTests {
    static func configure(_ app: Application, store: any SessionStore, gate: Gate? = nil) throws {
        app.sessions.use(.store(store))
        app.sessions.configuration = try .store()
        app.middleware.use(app.sessions.middleware)
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
        app.post("logout") { req in
            req.session.destroy()
            return "bye"
        }
        app.post("everywhere") { req in "\(try await req.storeSession.logOutEverywhere())" }
        app.post("fail") { req -> String in
            req.session.data["k"] = "never"
            throw Abort(.expectationFailed)
        }
        app.post("big") { req in
            req.session.data["k"] = String(repeating: "x", count: store.policy.maxDataSize + 1)
            return "stored"
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
                try await app.testing().test(.POST, "everywhere", headers: cookieHeader(rotated)) { response in
                    #expect(response.body.string == "1")
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
            // Vapor's middleware creates a session for every unknown cookie; the driver never
            // stores an empty one.
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }
}

/// This package's own middleware on Vapor: `req.requestSession`.
@Suite("Vapor store middleware")
struct VaporStoreMiddlewareTests {
    struct Cart: Codable, Sendable {
        var items: [String] = []
    }

    static func configure(_ app: Application, store: any SessionStore, cookie: SessionCookieOptions = .secure) throws {
        app.middleware.use(try StoreSessionsMiddleware(store: store, cookie: cookie))
        app.get("cart") { req in
            "\(req.requestSession.userID ?? "anonymous"):\((try req.requestSession.data(as: Cart.self) ?? Cart()).items.joined(separator: ","))"
        }
        app.post("cart", ":item") { req in
            let item = try req.parameters.require("item")
            try req.requestSession.updateData(as: Cart.self, default: Cart()) { $0.items.append(item) }
            return "added"
        }
        app.post("login", ":user") { req in
            try req.requestSession.logIn(userID: try req.parameters.require("user"))
            return "welcome"
        }
        app.post("logout") { req in
            try req.requestSession.logOut()
            return "bye"
        }
        app.post("big") { req in
            try req.requestSession.setData(String(repeating: "x", count: store.policy.maxDataSize + 1))
            return "stored"
        }
    }

    @Test func noCookieNoStoreCallAndAReadSendsNoCookie() async throws {
        try await withStore(.sqlite) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            let issued = try await harness.store.create(userID: "alice", value: Cart(items: ["pen"]))
            try await withApp(configure: { try Self.configure($0, store: store) }) { app in
                try await app.testing().test(.GET, "cart") { response in
                    #expect(response.body.string == "anonymous:")
                    #expect(response.headers[.setCookie].isEmpty)
                }
                #expect(store.calls.total == 0)
                try await app.testing().test(.GET, "cart", headers: ["Cookie": "__Host-session=garbage"]) { response in
                    #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                }
                #expect(store.calls.total == 0)
                try await app.testing().test(.GET, "cart", headers: cookie(issued.token)) { response in
                    #expect(response.body.string == "alice:pen")
                    #expect(response.headers[.setCookie].isEmpty)
                }
            }
            #expect(store.calls.writes == 0)
        }
    }

    @Test func loginRotatesLogoutClearsWithTheDomainAndOversizeIsA413() async throws {
        let options = SessionCookieOptions(name: "sid", domain: "shop.example", path: "/", secure: true)
        try await withStore(.sqlite, policy: { $0.maxDataSize = 2048 }) { harness in
            try await withApp(configure: { try Self.configure($0, store: harness.store, cookie: options) }) { app in
                var first: String?
                try await app.testing().test(.POST, "cart/book") { first = sessionCookie($0, name: "sid") }
                var second: String?
                try await app.testing().test(.POST, "login/alice", headers: cookieHeader(first)) { second = sessionCookie($0, name: "sid") }
                #expect(second != nil && second != first)
                try await app.testing().test(.GET, "cart", headers: cookieHeader(second)) { response in
                    #expect(response.body.string == "alice:book")
                }
                try await app.testing().test(.GET, "cart", headers: cookieHeader(first)) { response in
                    #expect(response.body.string == "anonymous:")
                }
                try await app.testing().test(.POST, "big", headers: cookieHeader(second)) { response in
                    #expect(response.status == .payloadTooLarge)
                }
                try await app.testing().test(.POST, "logout", headers: cookieHeader(second)) { response in
                    #expect(sessionCookie(response, name: "sid") == "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Domain=shop.example; Secure; HttpOnly; SameSite=Lax")
                }
            }
            #expect(try await harness.store.count() == 0)
        }
    }

    @Test func aFloodOfUnknownCookiesLeavesNoRows() async throws {
        try await withStore(.sqlite) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            try await withApp(configure: { try Self.configure($0, store: store) }) { app in
                let tester = try app.testing()
                for _ in 0..<1000 {
                    try await tester.test(.GET, "cart", headers: cookie(SessionToken.generate())) { response in
                        #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                    }
                }
            }
            #expect(store.calls.writes == 0)
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }
}
#endif

#if Hummingbird
import Foundation
import Hummingbird
import HummingbirdSessions
import HummingbirdTesting
import NIOCore
import Sessions
import SessionTestSupport
import Testing

struct Cart: Codable, Sendable, Equatable {
    var items: [String] = []
}

/// The routes the tests drive: every kind of session use a handler makes.
/// CSRF checks are off here (the requests carry no token); `HummingbirdCSRFTests` turns them on.
func makeApplication(store: any SessionStore, cookie: SessionCookieOptions = .secure, csrf: CSRFProtection = .disabled, gate: Gate? = nil) throws -> some ApplicationProtocol {
    let router = Router(context: BasicSessionStoreRequestContext.self)
    router.add(middleware: try SessionStoreMiddleware(store: store, cookie: cookie, csrf: csrf))
    router.get("/cart") { _, context in
        let cart = try context.session.data(as: Cart.self) ?? Cart()
        return "\(context.session.userID ?? "anonymous"):\(cart.items.joined(separator: ","))"
    }
    router.post("/cart/{item}") { _, context in
        let item = try context.parameters.require("item")
        try context.session.updateData(as: Cart.self, default: Cart()) { $0.items.append(item) }
        if let gate { await gate.enterAndWait() }
        return "added \(item)"
    }
    router.post("/login/{user}") { _, context in
        try context.session.logIn(userID: try context.parameters.require("user"))
        return "welcome"
    }
    router.post("/rotate") { _, context in
        try context.session.rotate()
        return "rotated"
    }
    router.post("/logout") { _, context in
        try context.session.logOut()
        return "bye"
    }
    router.post("/everywhere") { _, context in
        "\(try await context.session.logOutEverywhere())"
    }
    router.get("/devices") { _, context in
        try await context.session.sessionsOfUser().map { "\($0.tokenHash.hex)\(context.session.isCurrent($0) ? "*" : "")" }.joined(separator: "\n")
    }
    router.post("/revoke/{hash}") { _, context in
        guard let hash = TokenHash(hex: try context.parameters.require("hash")) else { throw HTTPError(.badRequest) }
        return "\(try await context.session.revoke(hash))"
    }
    router.post("/fail") { _, context -> String in
        try context.session.setData(Cart(items: ["never"]))
        throw HTTPError(.expectationFailed, message: "the handler failed after changing the session")
    }
    router.post("/big") { _, context -> String in
        try context.session.setData(String(repeating: "x", count: store.policy.maxDataSize + 1))
        return "stored"
    }
    return Application(router: router)
}

/// The session cookie a response set, if any.
func sessionCookie(_ response: TestResponse, name: String = SessionCookieOptions.secure.name) -> String? {
    response.headers[values: .setCookie].first { $0.hasPrefix("\(name)=") }
}

/// The `Cookie` header that sends back what `setCookie` handed out.
func cookieHeader(_ setCookie: String?) -> HTTPFields {
    guard let pair = setCookie?.split(separator: ";").first else { return [:] }
    return [.cookie: String(pair)]
}

/// The stores the integration is tested against: memory, SQLite, and SQLite behind the cache.
let webStoreKinds: [StoreKind] = [.memory, .sqlite, .cachedSQLite]

@Suite("Hummingbird session middleware")
struct HummingbirdSessionsTests {
    @Test(arguments: webStoreKinds)
    func aRequestWithoutCookieCostsNothingAndCreatesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            try await makeApplication(store: store).test(.router) { client in
                try await client.execute(uri: "/cart", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "anonymous:")
                    #expect(sessionCookie(response) == nil)
                }
            }
            #expect(store.calls.total == 0)
            #expect(try await harness.store.count() == 0)
        }
    }

    /// Cookie values that are not tokens, by what is wrong with them.
    static let malformedValues: [String: String] = [
        "garbage": "garbage",
        "44 characters": String(repeating: "A", count: 44),
        "non-canonical last character": String(repeating: "A", count: 42) + "B",
        "unbalanced quote": "\"" + String(repeating: "A", count: 43),
        "100 KB": String(repeating: "x", count: 100_000),
        "NUL inside": String(repeating: "A", count: 20) + "\u{0}" + String(repeating: "A", count: 22),
    ]

    @Test(arguments: malformedValues.keys.sorted())
    func aMalformedCookieCostsNoStoreCallAndIsCleared(problem: String) async throws {
        let value = try #require(Self.malformedValues[problem])
        try await withStore(.sqlite) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            try await makeApplication(store: store).test(.router) { client in
                try await client.execute(uri: "/cart", method: .get, headers: [.cookie: "other=1; __Host-session=\(value)"]) { response in
                    #expect(response.status == .ok)
                    let cookie = try #require(sessionCookie(response))
                    #expect(cookie.hasPrefix("__Host-session=; Max-Age=0"))
                }
            }
            #expect(store.calls.total == 0)
        }
    }

    @Test(arguments: webStoreKinds)
    func anUnknownTokenCreatesNothingAndIsLeftAlone(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            try await makeApplication(store: store).test(.router) { client in
                let unknown = SessionToken.generate().stringValue
                try await client.execute(uri: "/cart", method: .get, headers: [.cookie: "__Host-session=\(unknown)"]) { response in
                    #expect(String(buffer: response.body) == "anonymous:")
                    // It may be the cookie a login in another tab has just replaced: clearing it
                    // in a response that lands after the login's would log that tab out.
                    #expect(sessionCookie(response) == nil)
                }
            }
            #expect(store.calls.loads == 1)
            #expect(store.calls.writes == 0)
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }

    @Test(arguments: webStoreKinds)
    func anExpiredSessionIsGone(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(userID: "alice", expiration: .absolute(.seconds(60)))
            harness.clock.advance(by: .seconds(61))
            try await makeApplication(store: harness.store).test(.router) { client in
                try await client.execute(uri: "/cart", method: .get, headers: [.cookie: "__Host-session=\(issued.token.stringValue)"]) { response in
                    #expect(String(buffer: response.body) == "anonymous:")
                    #expect(sessionCookie(response) == nil)
                }
            }
            #expect(try await harness.store.count() == 0)
        }
    }

    @Test(arguments: webStoreKinds)
    func loggingInRotatesSoTheOldCookieIsDeadAtOnce(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            try await makeApplication(store: harness.store).test(.router) { client in
                // An anonymous cart first, then a login in the same browser.
                let anonymous = try await client.execute(uri: "/cart/book", method: .post) { sessionCookie($0) }
                let anonymousCookie = try #require(anonymous)
                let loggedIn = try await client.execute(uri: "/login/alice", method: .post, headers: cookieHeader(anonymousCookie)) { response in
                    #expect(response.status == .ok)
                    return sessionCookie(response)
                }
                let userCookie = try #require(loggedIn)
                #expect(userCookie != anonymousCookie)
                #expect(userCookie.contains("; Max-Age=86400; Path=/; Secure; HttpOnly; SameSite=Lax"))
                // The login kept the cart and recorded the user.
                try await client.execute(uri: "/cart", method: .get, headers: cookieHeader(userCookie)) { response in
                    #expect(String(buffer: response.body) == "alice:book")
                    #expect(sessionCookie(response) == nil)
                }
                // The cookie from before the login no longer opens anything.
                try await client.execute(uri: "/cart", method: .get, headers: cookieHeader(anonymousCookie)) { response in
                    #expect(String(buffer: response.body) == "anonymous:")
                    #expect(sessionCookie(response) == nil)
                }
                // A second login (switching user) rotates again, and again kills the previous cookie.
                let again = try await client.execute(uri: "/login/bob", method: .post, headers: cookieHeader(userCookie)) { sessionCookie($0) }
                try await client.execute(uri: "/cart", method: .get, headers: cookieHeader(userCookie)) { response in
                    #expect(String(buffer: response.body) == "anonymous:")
                }
                try await client.execute(uri: "/cart", method: .get, headers: cookieHeader(again)) { response in
                    #expect(String(buffer: response.body) == "bob:book")
                }
            }
            #expect(try await harness.store.count() == 1)
        }
    }

    @Test(arguments: webStoreKinds)
    func aReadWritesNothingAndSendsNoCookie(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            let issued = try await harness.store.create(userID: "alice", value: Cart(items: ["pen"]))
            let before = try await harness.store.stats().writes?.operations
            try await makeApplication(store: store).test(.router) { client in
                for _ in 0..<20 {
                    try await client.execute(uri: "/cart", method: .get, headers: [.cookie: "__Host-session=\(issued.token.stringValue)"]) { response in
                        #expect(String(buffer: response.body) == "alice:pen")
                        #expect(response.headers[values: .setCookie].isEmpty)
                    }
                }
            }
            if let cached = harness.store as? CachedSessionStore { await cached.waitForPendingTouches() }
            #expect(store.calls.writes == 0)
            #expect(try await harness.store.stats().writes?.operations == before)
        }
    }

    @Test(arguments: webStoreKinds)
    func concurrentRequestsChangingOneSessionLoseNoUpdate(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(value: Cart(items: ["first"]))
            let cookie: HTTPFields = [.cookie: "__Host-session=\(issued.token.stringValue)"]
            let accepted = try await makeApplication(store: harness.store).test(.router) { client in
                try await withThrowingTaskGroup(of: String?.self) { group in
                    for index in 0..<16 {
                        group.addTask {
                            try await client.execute(uri: "/cart/item\(index)", method: .post, headers: cookie) { response in
                                if response.status == .ok { return "item\(index)" }
                                #expect(response.status == .conflict)
                                return nil
                            }
                        }
                    }
                    var accepted: Set<String> = []
                    for try await item in group { if let item { accepted.insert(item) } }
                    return accepted
                }
            }
            let stored = try #require(try await harness.store.load(Cart.self, for: issued.token))
            #expect(stored.items.first == "first")
            #expect(Set(stored.items.dropFirst()) == accepted)
            #expect(stored.items.count == accepted.count + 1)
            #expect(!accepted.isEmpty)
        }
    }

    @Test(arguments: webStoreKinds)
    func aLogoutRacingASaveIsNotUndone(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(userID: "alice", value: Cart())
            let cookie: HTTPFields = [.cookie: "__Host-session=\(issued.token.stringValue)"]
            let gate = Gate()
            try await makeApplication(store: harness.store, gate: gate).test(.router) { client in
                async let slowSave = client.execute(uri: "/cart/late", method: .post, headers: cookie) { response in
                    (response.status, sessionCookie(response))
                }
                try await waitUntil("the save reached its handler") { gate.entered }
                try await client.execute(uri: "/logout", method: .post, headers: cookie) { response in
                    #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                }
                gate.release()
                // The save's session ended under it: a 409 says its change was not stored.
                let (status, setCookie) = try await slowSave
                #expect(status == .conflict)
                #expect(setCookie == nil)
            }
            #expect(try await harness.store.load(issued.token) == nil)
            #expect(try await harness.store.count(includeExpired: true) == 0)
        }
    }

    @Test(arguments: webStoreKinds)
    func aHandlerThatThrowsWritesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            let issued = try await harness.store.create(value: Cart(items: ["kept"]))
            try await makeApplication(store: store).test(.router) { client in
                try await client.execute(uri: "/fail", method: .post, headers: [.cookie: "__Host-session=\(issued.token.stringValue)"]) { response in
                    #expect(response.status == .expectationFailed)
                    #expect(sessionCookie(response) == nil)
                }
                try await client.execute(uri: "/fail", method: .post) { response in
                    #expect(response.status == .expectationFailed)
                }
            }
            #expect(store.calls.writes == 0)
            #expect(try await harness.store.load(Cart.self, for: issued.token) == Cart(items: ["kept"]))
            #expect(try await harness.store.count() == 1)
        }
    }

    @Test(arguments: webStoreKinds)
    func oversizeDataIsAClear413AndWritesNothing(kind: StoreKind) async throws {
        try await withStore(kind, policy: { $0.maxDataSize = 4096 }) { harness in
            let store = CountingSessionStore(wrapping: harness.store)
            let issued = try await harness.store.create(value: Cart(items: ["kept"]))
            try await makeApplication(store: store).test(.router) { client in
                try await client.execute(uri: "/big", method: .post, headers: [.cookie: "__Host-session=\(issued.token.stringValue)"]) { response in
                    #expect(response.status == .contentTooLarge)
                    #expect(String(buffer: response.body).contains("4096"))
                    #expect(sessionCookie(response) == nil)
                }
                try await client.execute(uri: "/big", method: .post) { response in
                    #expect(response.status == .contentTooLarge)
                }
            }
            #expect(store.calls.writes == 0)
            #expect(try await harness.store.count() == 1)
            #expect(try await harness.store.load(Cart.self, for: issued.token) == Cart(items: ["kept"]))
        }
    }

    @Test(arguments: webStoreKinds)
    func logoutDeletesAndClearsTheCookieWithItsPathAndDomain(kind: StoreKind) async throws {
        let options = SessionCookieOptions(name: "sid", domain: "shop.example", path: "/app", secure: true)
        try await withStore(kind) { harness in
            let issued = try await harness.store.create(userID: "alice")
            try await makeApplication(store: harness.store, cookie: options).test(.router) { client in
                try await client.execute(uri: "/logout", method: .post, headers: [.cookie: "sid=\(issued.token.stringValue)"]) { response in
                    let cookie = try #require(sessionCookie(response, name: "sid"))
                    #expect(cookie == "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; Domain=shop.example; Secure; HttpOnly; SameSite=Lax")
                }
            }
            #expect(try await harness.store.load(issued.token) == nil)
        }
    }

    @Test(arguments: webStoreKinds)
    func devicesListAndRevokeOnlyTheUsersOwnSessions(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let laptop = try await harness.store.create(userID: "alice", client: SessionClient(ip: "192.0.2.1", userAgent: "Laptop"))
            let phone = try await harness.store.create(userID: "alice", client: SessionClient(ip: "192.0.2.2", userAgent: "Phone"))
            let mallory = try await harness.store.create(userID: "mallory")
            let cookie: HTTPFields = [.cookie: "__Host-session=\(laptop.token.stringValue)"]
            try await makeApplication(store: harness.store).test(.router) { client in
                try await client.execute(uri: "/devices", method: .get, headers: cookie) { response in
                    #expect(String(buffer: response.body) == "\(laptop.session.tokenHash.hex)*\n\(phone.session.tokenHash.hex)")
                }
                try await client.execute(uri: "/revoke/\(mallory.session.tokenHash.hex)", method: .post, headers: cookie) { response in
                    #expect(String(buffer: response.body) == "false")
                }
                try await client.execute(uri: "/revoke/\(phone.session.tokenHash.hex)", method: .post, headers: cookie) { response in
                    #expect(String(buffer: response.body) == "true")
                    #expect(sessionCookie(response) == nil)
                }
                // Revoking this device's own session logs it out.
                try await client.execute(uri: "/revoke/\(laptop.session.tokenHash.hex)", method: .post, headers: cookie) { response in
                    #expect(String(buffer: response.body) == "true")
                    #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                }
            }
            #expect(try await harness.store.load(phone.token) == nil)
            #expect(try await harness.store.load(laptop.token) == nil)
            #expect(try await harness.store.load(mallory.token) != nil)
        }
    }

    @Test(arguments: webStoreKinds)
    func logOutEverywhereEndsEveryDeviceOfTheUser(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let sessions = [
                try await harness.store.create(userID: "alice"),
                try await harness.store.create(userID: "alice"),
                try await harness.store.create(userID: "alice"),
            ]
            let bob = try await harness.store.create(userID: "bob")
            try await makeApplication(store: harness.store).test(.router) { client in
                try await client.execute(uri: "/everywhere", method: .post, headers: [.cookie: "__Host-session=\(sessions[1].token.stringValue)"]) { response in
                    #expect(String(buffer: response.body) == "3")
                    #expect(sessionCookie(response)?.hasPrefix("__Host-session=; Max-Age=0") == true)
                }
            }
            for issued in sessions { #expect(try await harness.store.load(issued.token) == nil) }
            #expect(try await harness.store.load(bob.token) != nil)
        }
    }

    @Test func rotatingKeepsContentsAndChangesTheToken() async throws {
        try await withStore(.memory) { harness in
            let issued = try await harness.store.create(userID: "alice", value: Cart(items: ["pen"]))
            try await makeApplication(store: harness.store).test(.router) { client in
                let rotated = try await client.execute(uri: "/rotate", method: .post, headers: [.cookie: "__Host-session=\(issued.token.stringValue)"]) { sessionCookie($0) }
                try await client.execute(uri: "/cart", method: .get, headers: cookieHeader(rotated)) { response in
                    #expect(String(buffer: response.body) == "alice:pen")
                }
                // Rotating without a session does nothing and creates nothing.
                try await client.execute(uri: "/rotate", method: .post) { response in
                    #expect(sessionCookie(response) == nil)
                }
            }
            #expect(try await harness.store.load(issued.token) == nil)
            #expect(try await harness.store.count() == 1)
        }
    }

    @Test func theMiddlewareRefusesCookieOptionsBrowsersWouldDrop() throws {
        let store = InMemorySessionStore()
        for options in [
            SessionCookieOptions(name: "__Host-session", secure: false),
            SessionCookieOptions(name: "__Host-session", domain: "example.com"),
            SessionCookieOptions(name: "__Host-session", path: "/app"),
            SessionCookieOptions(name: "bad name"),
            SessionCookieOptions(name: "sid", secure: false, sameSite: .none),
        ] {
            #expect(throws: SessionStoreError.self) {
                _ = try SessionStoreMiddleware<BasicSessionStoreRequestContext>(store: store, cookie: options)
            }
        }
        #expect(throws: Never.self) {
            _ = try SessionStoreMiddleware<BasicSessionStoreRequestContext>(store: store, cookie: .development)
        }
    }
}
#endif

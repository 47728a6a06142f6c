import Foundation
import Sessions
import Testing

/// The framework-free request lifecycle and cookie rules, without a server or a store.
@Suite("Request session state and cookies")
struct RequestSessionStateTests {
    struct Cart: Codable, Equatable {
        var items: [String] = []
    }

    static let start = SessionInstant(millisecondsSince1970: 1_767_225_600_000)

    static func stored(userID: String? = nil, data: Data = Data(), version: Int64 = 3, absolute: Duration? = .seconds(3600)) -> (SessionToken, Session) {
        let token = SessionToken.generate()
        let session = Session(
            id: 7,
            tokenHash: token.hash,
            userID: userID,
            data: data,
            createdAt: start,
            updatedAt: start,
            lastSeenAt: start,
            deadlines: SessionDeadlines(idleTimeout: .seconds(1800), absoluteExpiresAt: absolute.map { start + $0 }),
            version: version
        )
        return (token, session)
    }

    static func addItem(_ item: String) -> RequestSessionState.Edit {
        RequestSessionState.Edit { session in
            var cart = try session.decodeData(as: Cart.self) ?? Cart()
            cart.items.append(item)
            try session.encodeData(cart)
        }
    }

    // MARK: Cookie header parsing

    @Test func theSessionCookieIsFoundAmongOthersWithoutIO() throws {
        let options = SessionCookieOptions.secure
        let token = SessionToken.generate()
        #expect(options.incomingCookie(in: []) == .none)
        #expect(options.incomingCookie(in: ["a=1; b=2"]) == .none)
        #expect(options.incomingCookie(in: ["a=1;  __Host-session=\(token.stringValue) ; b=2"]) == .token(token))
        #expect(options.incomingCookie(in: ["a=1", "__Host-session=\"\(token.stringValue)\""]) == .token(token))
        // A longer name that starts with ours is another cookie.
        #expect(options.incomingCookie(in: ["__Host-session2=\(token.stringValue)"]) == .none)
        #expect(options.incomingCookie(in: ["__Host-session=nope"]) == .malformed)
        #expect(options.incomingCookie(in: ["__Host-session="]) == .malformed)
        // With two of our name (two paths matched), the first well-formed one wins.
        #expect(options.incomingCookie(in: ["__Host-session=nope; __Host-session=\(token.stringValue)"]) == .token(token))
    }

    @Test func setCookieCarriesTheAttributesAndAMaxAgeUntilTheAbsoluteDeadline() throws {
        let token = SessionToken.generate()
        let (_, session) = Self.stored(absolute: .seconds(3600))
        let now = Self.start + .milliseconds(1500)
        #expect(
            SessionCookieOptions.secure.setCookieHeader(for: token, session: session, now: now)
                == "__Host-session=\(token.stringValue); Max-Age=3598; Path=/; Secure; HttpOnly; SameSite=Lax"
        )
        let (_, idleOnly) = Self.stored(absolute: nil)
        #expect(!SessionCookieOptions.secure.setCookieHeader(for: token, session: idleOnly, now: now).contains("Max-Age"))
        var browser = SessionCookieOptions.secure
        browser.lifetime = .browserSession
        #expect(!browser.setCookieHeader(for: token, session: session, now: now).contains("Max-Age"))
        #expect(
            SessionCookieOptions.development.setCookieHeader(for: token, session: session, now: now)
                == "session=\(token.stringValue); Max-Age=3598; Path=/; HttpOnly; SameSite=Lax"
        )
        let scoped = SessionCookieOptions(name: "sid", domain: "example.com", path: "/shop", sameSite: .strict)
        #expect(scoped.deletionCookieHeader == "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/shop; Domain=example.com; Secure; HttpOnly; SameSite=Strict")
    }

    @Test func cookieOptionsBrowsersWouldDropAreRefused() {
        let refused = [
            SessionCookieOptions(secure: false),
            SessionCookieOptions(domain: "example.com"),
            SessionCookieOptions(path: "/app"),
            SessionCookieOptions(name: "__Secure-sid", secure: false),
            SessionCookieOptions(name: "sid", secure: false, sameSite: .none),
            SessionCookieOptions(name: ""),
            SessionCookieOptions(name: "s;id"),
            SessionCookieOptions(name: "sid", path: "nope"),
            SessionCookieOptions(name: "sid", domain: "a;b"),
        ]
        for options in refused {
            #expect(throws: SessionStoreError.self, "\(options)") { try options.validate() }
        }
        #expect(throws: Never.self) { try SessionCookieOptions.secure.validate() }
        #expect(throws: Never.self) { try SessionCookieOptions.development.validate() }
        #expect(throws: Never.self) { try SessionCookieOptions(name: "sid", domain: "example.com", path: "/app").validate() }
    }

    // MARK: What the end of a request writes

    @Test func aRequestThatChangesNothingWritesNothing() {
        #expect(Self.isNothing(RequestSessionState(incoming: .none, loaded: nil, client: nil).plan()))
        let (token, session) = Self.stored()
        let state = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        #expect(state.hasSession)
        #expect(Self.isNothing(state.plan()))
    }

    @Test func aCookieThatOpensNothingIsClearedWithoutAWrite() {
        for incoming in [IncomingSessionCookie.malformed, .token(SessionToken.generate())] {
            let plan = RequestSessionState(incoming: incoming, loaded: nil, client: nil).plan()
            #expect(plan.clearsCookie)
            #expect(plan.delete == nil)
            guard case .none = plan.write else { Issue.record("\(plan.write)"); continue }
        }
    }

    @Test func editsWithoutASessionCreateOneWithTheClient() throws {
        var state = RequestSessionState(incoming: .none, loaded: nil, client: SessionClient(ip: "192.0.2.9", userAgent: "Test"))
        try state.apply(Self.addItem("book"))
        state.expirationForNewSession = .absolute(.seconds(60))
        guard case .create(let draft) = state.plan().write else { Issue.record("expected a create"); return }
        #expect(try JSONDecoder().decode(Cart.self, from: draft.data) == Cart(items: ["book"]))
        #expect(draft.ip == "192.0.2.9")
        #expect(draft.userAgent == "Test")
        #expect(draft.expiration == .absolute(.seconds(60)))
    }

    @Test func anEditToAStoredSessionIsACompareAndSwapSave() throws {
        let (token, session) = Self.stored(version: 5)
        var state = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        try state.apply(Self.addItem("pen"))
        guard case .save(let changed, let expected) = state.plan().write else { Issue.record("expected a save"); return }
        #expect(expected == 5)
        #expect(try changed.decode(Cart.self) == Cart(items: ["pen"]))

        // Setting what is already there is no change.
        let cartData = try SessionDataCoding.encode(Cart(items: ["pen"]))
        var same = RequestSessionState(incoming: .token(token), loaded: Self.stored(data: cartData).1, client: nil)
        try same.apply(RequestSessionState.Edit { $0.data = cartData })
        #expect(Self.isNothing(same.plan()))
    }

    @Test func aReloadReplaysTheEditsOnTheNewerVersion() throws {
        let (token, session) = Self.stored(data: try SessionDataCoding.encode(Cart(items: ["a"])), version: 5)
        var state = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        try state.apply(Self.addItem("mine"))
        var newer = session.with(version: 6)
        newer.data = try SessionDataCoding.encode(Cart(items: ["a", "theirs"]))
        try state.reload(newer, token: token)
        guard case .save(let changed, let expected) = state.plan().write else { Issue.record("expected a save"); return }
        #expect(expected == 6)
        #expect(try changed.decode(Cart.self) == Cart(items: ["a", "theirs", "mine"]))
    }

    @Test func aSaveWhoseSessionVanishedWritesNothingAndClearsTheCookie() throws {
        let (token, session) = Self.stored()
        var state = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        try state.apply(Self.addItem("late"))
        try state.reload(nil, token: token)
        let plan = state.plan()
        #expect(plan.clearsCookie)
        guard case .none = plan.write else { Issue.record("a vanished session must not be recreated: \(plan.write)"); return }
    }

    @Test func loggingInRotatesAndALoginWhoseSessionVanishedCreatesOne() throws {
        let (token, session) = Self.stored(userID: nil)
        var state = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        try state.logIn(userID: "alice")
        guard case .rotate(let old, let changes, let expected) = state.plan().write else { Issue.record("expected a rotation"); return }
        #expect(old == token)
        #expect(changes?.userID == "alice")
        #expect(expected == session.version)

        try state.reload(nil, token: token)
        guard case .create(let draft) = state.plan().write else { Issue.record("expected a create"); return }
        #expect(draft.userID == "alice")

        var fresh = RequestSessionState(incoming: .none, loaded: nil, client: nil)
        try fresh.logIn(userID: "bob")
        guard case .create(let created) = fresh.plan().write else { Issue.record("expected a create"); return }
        #expect(created.userID == "bob")

        var rotateOnly = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        rotateOnly.rotate()
        guard case .rotate(_, nil, _) = rotateOnly.plan().write else { Issue.record("expected a plain rotation"); return }
        var nothingToRotate = RequestSessionState(incoming: .none, loaded: nil, client: nil)
        nothingToRotate.rotate()
        #expect(Self.isNothing(nothingToRotate.plan()))
    }

    @Test func logoutDeletesAndEditsAfterItStartAFreshSession() throws {
        let (token, session) = Self.stored(userID: "alice")
        var state = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        try state.apply(Self.addItem("dropped"))
        state.logOut()
        var plan = state.plan()
        #expect(plan.delete == token)
        #expect(plan.clearsCookie)
        guard case .none = plan.write else { Issue.record("\(plan.write)"); return }

        try state.apply(Self.addItem("after"))
        plan = state.plan()
        #expect(plan.delete == token)
        guard case .create(let draft) = plan.write else { Issue.record("expected a create"); return }
        #expect(draft.userID == nil)
        #expect(try JSONDecoder().decode(Cart.self, from: draft.data) == Cart(items: ["after"]))

        var everywhere = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        everywhere.logOut(alreadyDeleted: true)
        #expect(everywhere.plan().delete == nil)
        #expect(everywhere.plan().clearsCookie)
    }

    @Test func aFailingEditLeavesTheStateAsItWas() throws {
        let (token, session) = Self.stored()
        var state = RequestSessionState(incoming: .token(token), loaded: session, client: nil)
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try state.apply(RequestSessionState.Edit { _ in throw Refused() })
        }
        #expect(Self.isNothing(state.plan()))
    }

    private static func isNothing(_ plan: RequestSessionState.Plan) -> Bool {
        guard plan.delete == nil, !plan.clearsCookie, case .none = plan.write else { return false }
        return true
    }
}

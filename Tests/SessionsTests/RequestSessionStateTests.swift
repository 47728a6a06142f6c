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

    // MARK: The request lifecycle, step by step

    /// A request that arrived with `token` and found `session`.
    static func begun(_ token: SessionToken?, _ session: Session?, client: SessionClient? = nil, maxAttempts: Int = 3) -> RequestSessionState {
        var state = RequestSessionState(incoming: token.map { .token($0) } ?? .none, client: client, maxAttempts: maxAttempts)
        if case .load(let asked) = state.begin() {
            #expect(asked == token)
            state.loaded(session)
        }
        return state
    }

    static func isRespond(_ action: RequestSessionState.Action, _ expected: String) -> Bool {
        guard case .respond(let cookie) = action else { return false }
        switch cookie {
        case .none: return expected == "none"
        case .clear: return expected == "clear"
        case .set: return expected == "set"
        }
    }

    static func issued(_ userID: String? = nil) -> IssuedSession {
        let (token, session) = stored(userID: userID)
        return IssuedSession(token: token, session: session)
    }

    @Test func noCookieMeansNoStoreCallAndAMalformedOneIsClearedWithoutOne() {
        var none = RequestSessionState(incoming: .none, client: nil)
        #expect(none.begin() == nil)
        #expect(!none.hasSession)
        #expect(Self.isRespond(none.finish(), "none"))

        var malformed = RequestSessionState(incoming: .malformed, client: nil)
        #expect(malformed.begin() == nil)
        #expect(Self.isRespond(malformed.finish(), "clear"))

        // A token that names no live session costs one read and is left alone: it may be the
        // cookie a login in another tab has just replaced.
        var unknown = Self.begun(SessionToken.generate(), nil)
        #expect(!unknown.hasSession)
        #expect(Self.isRespond(unknown.finish(), "none"))
    }

    @Test func aRequestThatOnlyReadsWritesNothing() {
        let (token, session) = Self.stored()
        var state = Self.begun(token, session)
        #expect(state.hasSession)
        #expect(state.stored == session)
        #expect(Self.isRespond(state.finish(), "none"))
        #expect(!state.isOpen)
    }

    @Test func editsWithoutASessionCreateOneWithTheClient() throws {
        var state = Self.begun(nil, nil, client: SessionClient(ip: "192.0.2.9", userAgent: "Test"))
        try state.apply(Self.addItem("book"))
        state.expirationForNewSession = .absolute(.seconds(60))
        #expect(state.hasSession)
        guard case .create(let draft) = state.finish() else { Issue.record("expected a create"); return }
        #expect(try JSONDecoder().decode(Cart.self, from: draft.data) == Cart(items: ["book"]))
        #expect(draft.ip == "192.0.2.9")
        #expect(draft.userAgent == "Test")
        #expect(draft.expiration == .absolute(.seconds(60)))
        #expect(Self.isRespond(state.completed(.created(Self.issued())), "set"))
    }

    @Test func anEditToAStoredSessionIsACompareAndSwapSaveThatKeepsTheCookie() throws {
        let (token, session) = Self.stored(version: 5)
        var state = Self.begun(token, session)
        try state.apply(Self.addItem("pen"))
        guard case .save(let changed, let expected) = state.finish() else { Issue.record("expected a save"); return }
        #expect(expected == 5)
        #expect(try changed.decode(Cart.self) == Cart(items: ["pen"]))
        #expect(Self.isRespond(state.completed(.saved), "none"))

        // Setting what is already there is no change.
        let cartData = try SessionDataCoding.encode(Cart(items: ["pen"]))
        var same = Self.begun(token, Self.stored(data: cartData).1)
        try same.apply(RequestSessionState.Edit { $0.data = cartData })
        #expect(Self.isRespond(same.finish(), "none"))
    }

    @Test func aConflictReadsAgainAndReplaysTheEditsOnTheNewerVersion() throws {
        let (token, session) = Self.stored(data: try SessionDataCoding.encode(Cart(items: ["a"])), version: 5)
        var state = Self.begun(token, session)
        try state.apply(Self.addItem("mine"))
        guard case .save = state.finish() else { Issue.record("expected a save"); return }
        guard case .load(let again) = state.completed(.conflict) else { Issue.record("expected a fresh read"); return }
        #expect(again == token)
        var newer = session.with(version: 6)
        newer.data = try SessionDataCoding.encode(Cart(items: ["a", "theirs"]))
        guard case .save(let changed, let expected) = state.completed(.loaded(newer)) else { Issue.record("expected a save"); return }
        #expect(expected == 6)
        #expect(try changed.decode(Cart.self) == Cart(items: ["a", "theirs", "mine"]))
        #expect(Self.isRespond(state.completed(.saved), "none"))
    }

    @Test func theLastConflictGivesUpWithAConflictError() throws {
        let (token, session) = Self.stored(version: 1)
        var state = Self.begun(token, session, maxAttempts: 2)
        try state.apply(Self.addItem("x"))
        guard case .save = state.finish() else { Issue.record("expected a save"); return }
        guard case .load = state.completed(.conflict) else { Issue.record("expected a fresh read"); return }
        guard case .save(_, 2) = state.completed(.loaded(session.with(version: 2))) else { Issue.record("expected a save of version 2"); return }
        guard case .fail(let error) = state.completed(.conflict) else { Issue.record("expected to give up"); return }
        #expect(error.code == .conflict)
        #expect(error.httpStatusCode == 409)
    }

    @Test func aSaveWhoseSessionVanishedWritesNothingAndFails() throws {
        let (token, session) = Self.stored()
        var state = Self.begun(token, session)
        try state.apply(Self.addItem("late"))
        guard case .save = state.finish() else { Issue.record("expected a save"); return }
        // Not recreated, and not reported as stored either.
        guard case .fail(let error) = state.completed(.gone) else { Issue.record("a vanished session must not be recreated"); return }
        #expect(error.code == .conflict)

        // The same when the fresh read after a conflict finds it gone.
        var raced = Self.begun(token, session)
        try raced.apply(Self.addItem("late"))
        _ = raced.finish()
        guard case .load = raced.completed(.conflict) else { Issue.record("expected a fresh read"); return }
        guard case .fail = raced.completed(.loaded(nil)) else { Issue.record("expected a failure"); return }
    }

    @Test func loggingInRotatesAndALoginWhoseSessionVanishedCreatesOne() throws {
        let (token, session) = Self.stored(userID: nil)
        var state = Self.begun(token, session)
        try state.logIn(userID: "alice")
        #expect(state.session?.userID == "alice")
        guard case .rotate(let old, let changes, let expected) = state.finish() else { Issue.record("expected a rotation"); return }
        #expect(old == token)
        #expect(changes?.userID == "alice")
        #expect(expected == session.version)
        // Logged out elsewhere meanwhile: the user has just proved who they are, so a new session.
        guard case .create(let draft) = state.completed(.gone) else { Issue.record("expected a create"); return }
        #expect(draft.userID == "alice")
        #expect(Self.isRespond(state.completed(.created(Self.issued("alice"))), "set"))

        var fresh = Self.begun(nil, nil)
        try fresh.logIn(userID: "bob")
        guard case .create(let created) = fresh.finish() else { Issue.record("expected a create"); return }
        #expect(created.userID == "bob")
    }

    @Test func aPlainRotationSendsNoChangesAndNeedsASession() throws {
        let (token, session) = Self.stored()
        var rotateOnly = Self.begun(token, session)
        rotateOnly.rotate()
        guard case .rotate(_, nil, _) = rotateOnly.finish() else { Issue.record("expected a plain rotation"); return }
        #expect(Self.isRespond(rotateOnly.completed(.rotated(Self.issued())), "set"))
        // A rotation whose session vanished has nothing to create; with changes, it is no login,
        // so nothing is created either (the changes fail like a save's).
        var vanished = Self.begun(token, session)
        vanished.rotate()
        _ = vanished.finish()
        #expect(Self.isRespond(vanished.completed(.gone), "none"))
        var sudo = Self.begun(token, session)
        try sudo.apply(RequestSessionState.Edit { $0.metadata["sudo_until"] = "soon" })
        sudo.rotate()
        guard case .rotate(_, _?, _) = sudo.finish() else { Issue.record("expected a rotation with changes"); return }
        guard case .fail = sudo.completed(.gone) else { Issue.record("a rotation is not a login: nothing may be created"); return }

        var nothingToRotate = Self.begun(nil, nil)
        nothingToRotate.rotate()
        #expect(Self.isRespond(nothingToRotate.finish(), "none"))
    }

    @Test func logoutDeletesAndEditsAfterItStartAFreshSession() throws {
        let (token, session) = Self.stored(userID: "alice")
        var state = Self.begun(token, session)
        try state.apply(Self.addItem("dropped"))
        state.logOut()
        #expect(!state.hasSession)
        guard case .delete(let deleted) = state.finish() else { Issue.record("expected a delete"); return }
        #expect(deleted == token)
        #expect(Self.isRespond(state.completed(.deleted), "clear"))

        var again = Self.begun(token, session)
        again.logOut()
        try again.apply(Self.addItem("after"))
        guard case .delete = again.finish() else { Issue.record("expected a delete"); return }
        guard case .create(let draft) = again.completed(.deleted) else { Issue.record("expected a create"); return }
        #expect(draft.userID == nil)
        #expect(try JSONDecoder().decode(Cart.self, from: draft.data) == Cart(items: ["after"]))

        // Logged out everywhere: the store already deleted it; only the cookie is left.
        var everywhere = Self.begun(token, session)
        everywhere.logOut(alreadyDeleted: true)
        #expect(Self.isRespond(everywhere.finish(), "clear"))

        // A logout whose cookie named nothing clears it without a delete.
        var unknown = Self.begun(SessionToken.generate(), nil)
        unknown.logOut()
        #expect(Self.isRespond(unknown.finish(), "clear"))
    }

    @Test func aFailingEditLeavesTheStateAsItWas() throws {
        let (token, session) = Self.stored()
        var state = Self.begun(token, session)
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try state.apply(RequestSessionState.Edit { _ in throw Refused() })
        }
        #expect(state.session == session)
        #expect(Self.isRespond(state.finish(), "none"))
    }

    @Test func anEditThatNoLongerAppliesAfterAConflictFails() throws {
        struct SoldOut: Error {}
        let (token, session) = Self.stored(data: try SessionDataCoding.encode(Cart(items: [])), version: 1)
        var state = Self.begun(token, session)
        // Adds an item only while the cart holds none.
        try state.apply(RequestSessionState.Edit { session in
            var cart = try session.decodeData(as: Cart.self) ?? Cart()
            guard cart.items.isEmpty else { throw SoldOut() }
            cart.items.append("last one")
            try session.encodeData(cart)
        })
        _ = state.finish()
        guard case .load = state.completed(.conflict) else { Issue.record("expected a fresh read"); return }
        var newer = session.with(version: 2)
        newer.data = try SessionDataCoding.encode(Cart(items: ["taken"]))
        // The handler answered as if it applied: the request must not report success.
        guard case .fail(let error) = state.completed(.loaded(newer)) else { Issue.record("expected a failure"); return }
        #expect(error.code == .conflict)
    }

    @Test func aSessionCreatedOrLoggedInUnderCSRFProtectionGetsItsTokenAtOnce() throws {
        var created = Self.begun(nil, nil)
        created.issuesCSRFTokens = true
        try created.apply(Self.addItem("pen"))
        guard case .create(let draft) = created.finish() else { Issue.record("expected a create"); return }
        #expect(draft.metadata[CSRFProtection.metadataKey]?.count == 43)

        let (token, session) = Self.stored()
        var login = Self.begun(token, session)
        login.issuesCSRFTokens = true
        try login.logIn(userID: "alice")
        guard case .rotate(_, let changes?, _) = login.finish() else { Issue.record("expected a rotation with changes"); return }
        #expect(changes.metadata[CSRFProtection.metadataKey]?.count == 43)

        // A login replaces a token the session had (a planted session's is useless after it);
        // a plain rotation keeps it.
        var tokened = session
        tokened.metadata[CSRFProtection.metadataKey] = "known"
        var relogin = Self.begun(token, tokened)
        relogin.issuesCSRFTokens = true
        try relogin.logIn(userID: "alice")
        guard case .rotate(_, let renewed?, _) = relogin.finish() else { Issue.record("expected a rotation with changes"); return }
        #expect(renewed.metadata[CSRFProtection.metadataKey] != "known")
        var again = Self.begun(token, tokened)
        again.issuesCSRFTokens = true
        again.rotate()
        guard case .rotate(_, nil, _) = again.finish() else { Issue.record("expected a plain rotation"); return }

        // Without protection nothing is added.
        var plain = Self.begun(nil, nil)
        try plain.apply(Self.addItem("pen"))
        guard case .create(let untokened) = plain.finish() else { Issue.record("expected a create"); return }
        #expect(untokened.metadata[CSRFProtection.metadataKey] == nil)
    }

    // MARK: Cross-site request forgery

    static func request(_ method: String = "POST", path: String = "/cart", host: String? = "shop.example", site: String? = nil, origin: String? = nil, token: String? = nil) -> CSRFProtection.Request {
        CSRFProtection.Request(method: method, path: path, host: host, secFetchSite: site, origin: origin, headerToken: token)
    }

    static func refusal(_ request: CSRFProtection.Request, with protection: CSRFProtection = .standard, expected: String? = "t0k3n", form: String? = nil) async -> String? {
        do {
            try await protection.check(request, expected: expected, formBody: { form.map { Array($0.utf8) } })
            return nil
        } catch let refusal as CSRFProtection.Refusal {
            return refusal.reason
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func safeMethodsAndExemptPathsAreNotChecked() {
        let api = CSRFProtection.exempting(pathsStartingWith: ["/api/"])
        for method in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            #expect(!CSRFProtection.standard.applies(to: Self.request(method)))
        }
        // Methods are case-sensitive: `get` is not GET.
        for method in ["POST", "PUT", "PATCH", "DELETE", "BREW", "get"] {
            #expect(CSRFProtection.standard.applies(to: Self.request(method)))
        }
        #expect(!api.applies(to: Self.request(path: "/api/cart")))
        #expect(!api.applies(to: Self.request(path: "/api")))
        #expect(api.applies(to: Self.request(path: "/apikeys")))
        #expect(api.applies(to: Self.request(path: "/cart")))
        #expect(!CSRFProtection.disabled.applies(to: Self.request()))
    }

    @Test func aSameOriginRequestWithTheSessionsTokenPasses() async {
        #expect(await Self.refusal(Self.request(site: "same-origin", token: "t0k3n")) == nil)
        #expect(await Self.refusal(Self.request(site: "none", token: "t0k3n")) == nil)
        // From a form, percent-encoded among other fields.
        #expect(await Self.refusal(Self.request(origin: "https://shop.example"), form: "item=a+b&_csrf=t0k3n&x=%41") == nil)
        #expect(await Self.refusal(Self.request(), form: "_csrf=t%30k3n") == nil)
    }

    @Test func whereTheRequestComesFromIsCheckedFirst() async {
        #expect(await Self.refusal(Self.request(site: "cross-site", token: "t0k3n"))?.contains("cross-site") == true)
        // A sibling subdomain is the same site but not the same origin.
        #expect(await Self.refusal(Self.request(site: "same-site", token: "t0k3n"))?.contains("same-site") == true)
        #expect(await Self.refusal(Self.request(origin: "https://evil.example", token: "t0k3n"))?.contains("Origin") == true)
        #expect(await Self.refusal(Self.request(origin: "null", token: "t0k3n"))?.contains("Origin") == true)
        // A trusted origin of yours passes, whether the browser sends Sec-Fetch-Site or not.
        let trusting = CSRFProtection(trustedOrigins: ["https://Admin.example/"])
        #expect(await Self.refusal(Self.request(origin: "https://admin.example", token: "t0k3n"), with: trusting) == nil)
        #expect(await Self.refusal(Self.request(site: "same-site", origin: "https://admin.example", token: "t0k3n"), with: trusting) == nil)
        #expect(await Self.refusal(Self.request(site: "same-site", origin: "https://evil.example", token: "t0k3n"), with: trusting) != nil)
        #expect(await Self.refusal(Self.request(site: "cross-site", token: "t0k3n"), with: trusting) != nil)
        // The request's own host, default ports aside.
        #expect(await Self.refusal(Self.request(host: "shop.example:443", origin: "https://shop.example", token: "t0k3n")) == nil)
        #expect(await Self.refusal(Self.request(host: "shop.example", origin: "https://shop.example:443", token: "t0k3n")) == nil)
        #expect(await Self.refusal(Self.request(host: "shop.example:8443", origin: "https://shop.example", token: "t0k3n")) != nil)
    }

    @Test func aMissingOrWrongTokenIsRefused() async {
        #expect(await Self.refusal(Self.request(site: "same-origin"))?.contains("no token") == true)
        #expect(await Self.refusal(Self.request(site: "same-origin", token: "t0k3m"))?.contains("does not match") == true)
        #expect(await Self.refusal(Self.request(site: "same-origin", token: "t0k3n!"))?.contains("does not match") == true)
        #expect(await Self.refusal(Self.request(site: "same-origin"), form: "csrf=t0k3n")?.contains("no token") == true)
    }

    @Test func withoutASessionTokenTheOriginAloneJudges() async {
        // No session, or one from before the protection was on that no page has issued a token to.
        #expect(await Self.refusal(Self.request(site: "same-origin"), expected: nil) == nil)
        #expect(await Self.refusal(Self.request(), expected: nil) == nil)
        #expect(await Self.refusal(Self.request(site: "cross-site"), expected: nil) != nil)
        #expect(await Self.refusal(Self.request(origin: "https://evil.example"), expected: nil) != nil)
        #expect(CSRFProtection.isForm(contentType: "application/x-www-form-urlencoded; charset=UTF-8"))
        #expect(!CSRFProtection.isForm(contentType: "multipart/form-data; boundary=x"))
        #expect(!CSRFProtection.isForm(contentType: nil))
    }
}

#if HummingbirdAuth
import ChildProcesses
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SessionTestSupport
import Testing

/// The sample site in a real Chromium, driven over WebDriver: two browser profiles sign in as one
/// user, see each other on "your sessions", one signs the other out; a login's previous cookie,
/// replayed over plain HTTP, is refused; logging out clears the cookie; forms on another origin
/// are refused.
///
/// Needs `chromium` and `chromium-driver` (tools/setup installs them). Without them the test is
/// skipped with a message, unless SESSIONS_REQUIRE_BROWSER=1 (tools/test sets it) makes it fail.
@Suite("Sample site in a real browser", .serialized)
struct SampleSiteBrowserTests {
    static let browserAvailable: Bool = {
        let available = ChildProcess.find("chromedriver") != nil && ChildProcess.find("chromium") != nil
        if !available, ProcessInfo.processInfo.environment["SESSIONS_REQUIRE_BROWSER"] != "1" {
            print("the browser test is skipped: chromium or chromedriver is not installed (tools/setup installs them)")
        }
        return available || ProcessInfo.processInfo.environment["SESSIONS_REQUIRE_BROWSER"] == "1"
    }()

    @Test(.enabled(if: browserAvailable))
    func twoBrowsersSignInSeeEachOtherAndOneSignsTheOtherOut() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withSites(["site"], in: directory) { sites in
            try await Self.withBrowsers(["laptop", "phone"], in: directory) { browsers in
                try await run(site: sites[0], laptop: browsers[0], phone: browsers[1])
            }
        }
    }

    /// Two copies of the sample site, each with its own SQLite file, sharing sessions through one
    /// Redis as two hosts behind a load balancer would: a device signed out on one host is
    /// logged out on the other at its next request.
    @Test(.enabled(if: browserAvailable), .requiresRedis)
    func aDeviceSignedOutThroughOneHostIsLoggedOutOnTheOther() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let redis = try #require(RedisTestServer.url)
        let prefix = RedisTestServer.uniquePrefix()
        let sharing = ["SESSION_REPLICATE_TO": redis, "SESSION_SYNC": "true", "SESSION_KEY_PREFIX": prefix]
        do {
            try await signOutAcrossHosts(directory: directory, environment: sharing)
        } catch {
            try? await RedisTestServer.deleteKeys(prefix: prefix)
            throw error
        }
        try await RedisTestServer.deleteKeys(prefix: prefix)
    }

    private func signOutAcrossHosts(directory: URL, environment: [String: String]) async throws {
        try await Self.withSites(["east", "west"], in: directory, environment: environment) { sites in
            try await Self.withBrowsers(["laptop", "phone"], in: directory) { browsers in
                let (laptop, phone) = (browsers[0], browsers[1])
                let east = "http://127.0.0.1:\(sites[0])/"
                let west = "http://127.0.0.1:\(sites[1])/"
                // The laptop signs in through the east host, the phone through the west one.
                try await signIn(laptop, at: east)
                try await signIn(phone, at: west)
                // The west host lists both devices (the laptop's came through Redis), and serves the
                // laptop's session too.
                try await waitUntil("the laptop's session reaches the west host") {
                    try await phone.open(west + "sessions")
                    return try await phone.elements("tr.device").count == 2
                }
                try await laptop.open(west)
                #expect(try await laptop.text(of: "#user") == "alice")
                // The phone signs the laptop out on the west host; the laptop's next request to the
                // east host finds itself logged out.
                let laptopRow = try #require(try await otherDevice(in: phone))
                try await phone.clickElement(try await phone.element("tr.device[data-session='\(laptopRow)'] button.revoke"))
                try await waitUntil("the revoked device leaves the list") { try await phone.elements("tr.device").count == 1 }
                try await waitUntil("the east host refuses the laptop") {
                    try await laptop.open(east)
                    return try await laptop.has("#login")
                }
                #expect(try await !laptop.has("#greeting"))
            }
        }
    }

    /// A page served from another port of the same host (same site, other origin: `SameSite=Lax`
    /// lets the cookie through, as it would from a sibling subdomain) posts to the shop's cart and
    /// logout; both are refused with a 403 and change nothing, while the shop's own forms work.
    @Test(.enabled(if: browserAvailable))
    func formsOnAnotherOriginAreRefusedAndTheShopsOwnWork() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withSites(["site"], in: directory) { sites in
            let shop = "http://127.0.0.1:\(sites[0])"
            let router = Router()
            router.get("/") { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: "text/html; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: """
                        <!doctype html><html><body><h1>You won a prize</h1>
                        <form method="post" action="\(shop)/cart"><input type="hidden" name="item" value="lamp"><button id="forged-cart">Claim</button></form>
                        <form method="post" action="\(shop)/logout"><button id="forged-logout">Unsubscribe</button></form>
                        </body></html>
                        """))
                )
            }
            try await Application(router: router).test(.live) { client in
                let elsewhere = "http://127.0.0.1:\(try #require(client.port))/"
                try await Self.withBrowsers(["victim"], in: directory) { browsers in
                    let victim = browsers[0]
                    try await signIn(victim, at: shop + "/")
                    try await victim.open(shop + "/cart")
                    try await victim.click("#add-book")
                    try await victim.waitFor("#cart")
                    #expect(try await victim.text(of: "#quantity-book") == "1")
                    let cookie = try await victim.cookies()["__Host-session"]?["value"] as? String

                    for forged in ["#forged-cart", "#forged-logout"] {
                        try await victim.open(elsewhere)
                        try await victim.click(forged)
                        try await waitUntil("the shop answers the forged post") { try await !victim.has(forged) }
                        #expect(try await victim.text(of: "body").contains("Cross-site request refused"), "\(forged)")
                    }
                    // Nothing changed: still signed in with the same cookie, the cart as it was.
                    #expect(try await victim.cookies()["__Host-session"]?["value"] as? String == cookie)
                    try await victim.open(shop + "/cart")
                    #expect(try await victim.text(of: "#quantity-lamp") == "0")
                    #expect(try await victim.text(of: "#quantity-book") == "1")
                    // The shop's own forms still work.
                    try await victim.click("#remove-book")
                    try await victim.waitFor("#cart")
                    #expect(try await victim.text(of: "#quantity-book") == "0")
                    try await victim.click("#logout")
                    #expect(try await victim.waitFor("#login"))
                }
            }
        }
    }

    /// Runs the sample site once per name, each with a SQLite file of its own (and
    /// `SESSION_REPLICA_NAME` the name), gives `body` their ports, and stops them.
    static func withSites(_ names: [String], in directory: URL, environment: [String: String] = [:], _ body: ([Int]) async throws -> Void) async throws {
        var sites: [LocalServerProcess] = []
        do {
            for name in names {
                var variables = environment
                variables["SESSION_DB"] = directory.appendingPathComponent("\(name).sqlite").path
                variables["LOG_LEVEL"] = "warning"
                if !environment.isEmpty { variables["SESSION_REPLICA_NAME"] = name }
                sites.append(try await LocalServerProcess(
                    try product("sample-site"),
                    environment: variables,
                    arguments: { ["--port", "\($0)"] },
                    ready: { port in (try? await localHTTP(.get, port: port, "/"))?.status == .ok }
                ))
            }
            try await body(sites.map(\.port))
        } catch {
            for site in sites { await site.stop() }
            throw error
        }
        for site in sites { await site.stop() }
    }

    /// Starts chromedriver and one headless Chromium per profile name, gives `body` the browsers,
    /// and quits them all.
    static func withBrowsers(_ profiles: [String], in directory: URL, _ body: ([WebDriver]) async throws -> Void) async throws {
        let driver = try await LocalServerProcess(
            try ChildProcess.find("chromedriver") ?? { throw LocalServerError(description: "chromedriver is not installed") }(),
            arguments: { ["--port=\($0)", "--allowed-ips=127.0.0.1"] },
            ready: { await WebDriver.isReady(port: $0) }
        )
        var browsers: [WebDriver] = []
        do {
            for profile in profiles {
                browsers.append(try await WebDriver.start(driverPort: driver.port, profile: directory.appendingPathComponent(profile)))
            }
            try await body(browsers)
        } catch {
            for browser in browsers { await browser.quit() }
            await driver.stop()
            throw error
        }
        for browser in browsers { await browser.quit() }
        await driver.stop()
    }

    private func run(site: Int, laptop: WebDriver, phone: WebDriver) async throws {
        let home = "http://127.0.0.1:\(site)/"

        // The laptop fills a cart anonymously: a session exists before any login.
        try await laptop.open(home + "cart")
        try await laptop.click("#add-book")
        try await laptop.waitFor("#cart")
        #expect(try await laptop.text(of: "#quantity-book") == "1")
        let anonymousCookie = try #require(try await laptop.cookies()["__Host-session"]?["value"] as? String)

        // Signing in gives a new cookie with the configured attributes and keeps the cart.
        try await signIn(laptop, at: home)
        #expect(try await laptop.text(of: "#greeting") == "Hello, Alice")
        #expect(try await laptop.text(of: "#cart-count") == "1")
        let cookie = try #require(try await laptop.cookies()["__Host-session"])
        let laptopCookie = try #require(cookie["value"] as? String)
        #expect(laptopCookie != anonymousCookie)
        #expect(cookie["secure"] as? Bool == true)
        #expect(cookie["httpOnly"] as? Bool == true)
        #expect(cookie["sameSite"] as? String == "Lax")
        #expect(cookie["path"] as? String == "/")

        // The cookie from before the login, replayed by another client, opens nothing (and sets
        // nothing: the browser that held it has the new one).
        let replay = try await localHTTP(.get, port: site, "/", headers: [.cookie: "__Host-session=\(anonymousCookie)"])
        #expect(replay.text.contains("Sign in"))
        #expect(!replay.text.contains("greeting"))
        #expect(replay.headers[values: .setCookie].isEmpty)
        // The current one works over plain HTTP too, and a page view sets no cookie.
        let current = try await localHTTP(.get, port: site, "/", headers: [.cookie: "__Host-session=\(laptopCookie)"])
        #expect(current.text.contains("Hello, Alice"))
        #expect(current.headers[values: .setCookie].isEmpty)

        // The login response itself carries the attributes, as sent over HTTP.
        let login = try await localHTTP(
            .post, port: site, "/login",
            headers: [.contentType: "application/x-www-form-urlencoded"],
            body: "user=carol&password=demo"
        )
        let setCookie = try #require(login.headers[values: .setCookie].first)
        #expect(setCookie.hasSuffix("; Path=/; Secure; HttpOnly; SameSite=Lax"))
        #expect(setCookie.contains("; Max-Age="))

        // The phone signs in as the same user; both appear on "your sessions".
        try await signIn(phone, at: home)
        try await laptop.open(home + "sessions")
        let rows = try await laptop.elements("tr.device")
        #expect(rows.count == 2)
        #expect(try await laptop.text(of: "#this-device").contains("(this device)"))
        try await phone.open(home + "sessions")
        #expect(try await phone.elements("tr.device").count == 2)

        // The laptop signs the phone out; the phone's next request finds itself logged out.
        let phoneRow = try #require(try await otherDevice(in: laptop))
        try await laptop.clickElement(try await laptop.element("tr.device[data-session='\(phoneRow)'] button.revoke"))
        try await waitUntil("the revoked device leaves the list") { try await laptop.elements("tr.device").count == 1 }
        try await phone.open(home)
        #expect(try await phone.has("#login"))
        #expect(try await !phone.has("#greeting"))
        // Its cookie stays until it expires, opening nothing: the server cannot tell it from the
        // one a login in another tab has just replaced, which must not be cleared.
        let phoneCookie = try #require(try await phone.cookies()["__Host-session"]?["value"] as? String)
        #expect(try await localHTTP(.get, port: site, "/", headers: [.cookie: "__Host-session=\(phoneCookie)"]).text.contains("Sign in"))

        // "Log out everywhere" from the laptop ends a fresh phone login too.
        try await signIn(phone, at: home)
        try await laptop.open(home + "sessions")
        #expect(try await laptop.elements("tr.device").count == 2)
        try await laptop.click("#logout-everywhere")
        #expect(try await laptop.waitFor("#login"))
        try await phone.open(home)
        #expect(try await phone.has("#login"))

        // Logging out clears the cookie.
        try await signIn(laptop, at: home)
        #expect(try await laptop.cookies()["__Host-session"] != nil)
        try await laptop.click("#logout")
        #expect(try await laptop.waitFor("#login"))
        #expect(try await laptop.cookies()["__Host-session"] == nil)
    }

    private func signIn(_ browser: WebDriver, at home: String) async throws {
        try await browser.open(home)
        try await browser.type("demo", into: "#login-password")
        try await browser.click("#login")
        #expect(try await browser.waitFor("#user"))
        #expect(try await browser.text(of: "#user") == "alice")
    }

    /// The token hash of the row that is not this device, on a "your sessions" page.
    private func otherDevice(in browser: WebDriver) async throws -> String? {
        for row in try await browser.elements("tr.device") {
            guard try await browser.attribute("id", of: row) != "this-device" else { continue }
            return try await browser.attribute("data-session", of: row)
        }
        return nil
    }
}
#endif

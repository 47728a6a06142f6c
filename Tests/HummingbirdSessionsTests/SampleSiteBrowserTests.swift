#if HummingbirdAuth
import ChildProcesses
import Foundation
import HTTPTypes
import HummingbirdTesting
import SessionTestSupport
import Testing

/// The sample site in a real Chromium, driven over WebDriver: two browser profiles sign in as one
/// user, see each other on "your sessions", one signs the other out; a login's previous cookie,
/// replayed over plain HTTP, is refused; logging out clears the cookie.
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
        let site = try await LocalServerProcess(
            try product("sample-site"),
            environment: ["SESSION_DB": directory.appendingPathComponent("site.sqlite").path, "LOG_LEVEL": "warning"],
            arguments: { ["--port", "\($0)"] },
            ready: { port in (try? await localHTTP(.get, port: port, "/"))?.status == .ok }
        )
        let driver = try await LocalServerProcess(
            try ChildProcess.find("chromedriver") ?? { throw LocalServerError(description: "chromedriver is not installed") }(),
            arguments: { ["--port=\($0)", "--allowed-ips=127.0.0.1"] },
            ready: { await WebDriver.isReady(port: $0) }
        )
        var browsers: [WebDriver] = []
        do {
            let laptop = try await WebDriver.start(driverPort: driver.port, profile: directory.appendingPathComponent("laptop"))
            browsers.append(laptop)
            let phone = try await WebDriver.start(driverPort: driver.port, profile: directory.appendingPathComponent("phone"))
            browsers.append(phone)
            try await run(site: site.port, laptop: laptop, phone: phone)
        } catch {
            for browser in browsers { await browser.quit() }
            await driver.stop()
            await site.stop()
            throw error
        }
        for browser in browsers { await browser.quit() }
        await driver.stop()
        await site.stop()
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
        var sites: [LocalServerProcess] = []
        for name in ["east", "west"] {
            sites.append(try await LocalServerProcess(
                try product("sample-site"),
                environment: [
                    "SESSION_DB": directory.appendingPathComponent("\(name).sqlite").path, "LOG_LEVEL": "warning",
                    "SESSION_REPLICATE_TO": redis, "SESSION_SYNC": "true", "SESSION_REPLICA_NAME": name, "SESSION_KEY_PREFIX": prefix,
                ],
                arguments: { ["--port", "\($0)"] },
                ready: { port in (try? await localHTTP(.get, port: port, "/"))?.status == .ok }
            ))
        }
        let driver = try await LocalServerProcess(
            try ChildProcess.find("chromedriver") ?? { throw LocalServerError(description: "chromedriver is not installed") }(),
            arguments: { ["--port=\($0)", "--allowed-ips=127.0.0.1"] },
            ready: { await WebDriver.isReady(port: $0) }
        )
        var browsers: [WebDriver] = []
        do {
            let laptop = try await WebDriver.start(driverPort: driver.port, profile: directory.appendingPathComponent("laptop"))
            browsers.append(laptop)
            let phone = try await WebDriver.start(driverPort: driver.port, profile: directory.appendingPathComponent("phone"))
            browsers.append(phone)
            let east = "http://127.0.0.1:\(sites[0].port)/"
            let west = "http://127.0.0.1:\(sites[1].port)/"
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
            #expect(try await laptop.cookies()["__Host-session"] == nil)
        } catch {
            for browser in browsers { await browser.quit() }
            await driver.stop()
            for site in sites { await site.stop() }
            try? await RedisTestServer.deleteKeys(prefix: prefix)
            throw error
        }
        for browser in browsers { await browser.quit() }
        await driver.stop()
        for site in sites { await site.stop() }
        try await RedisTestServer.deleteKeys(prefix: prefix)
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

        // The cookie from before the login, replayed by another client, opens nothing and is cleared.
        let replay = try await localHTTP(.get, port: site, "/", headers: [.cookie: "__Host-session=\(anonymousCookie)"])
        #expect(replay.text.contains("Sign in"))
        #expect(!replay.text.contains("greeting"))
        #expect(replay.headers[values: .setCookie].contains { $0.hasPrefix("__Host-session=; Max-Age=0") })
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
        #expect(try await phone.cookies()["__Host-session"] == nil)

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

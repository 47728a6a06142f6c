#if Hummingbird
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdSessions
import HummingbirdTesting
import Sessions
import SessionTestSupport
import Testing

/// The CSRF checks of the middleware, on by default: what the browser says about the request's
/// origin first, then the session's token in a header or a form field.
@Suite("Hummingbird CSRF protection")
struct HummingbirdCSRFTests {
    struct ItemForm: Decodable {
        var item: String
    }

    static func application(store: any SessionStore, csrf: CSRFProtection = .standard) throws -> some ApplicationProtocol {
        let router = Router(context: BasicSessionStoreRequestContext.self)
        router.add(middleware: try SessionStoreMiddleware(store: store, csrf: csrf))
        router.get("/form") { _, context in
            try context.session.setMetadata("yes", forKey: "visited")
            return try context.session.csrfToken() ?? "none"
        }
        router.get("/token") { _, context in try context.session.csrfToken() ?? "none" }
        router.post("/cart") { request, context in
            // The middleware read the form to find the token; the handler still gets the body.
            let form = try await URLEncodedFormDecoder().decode(ItemForm.self, from: request, context: context)
            try context.session.updateData(as: Cart.self, default: Cart()) { $0.items.append(form.item) }
            return "added \(form.item)"
        }
        router.post("/login") { _, context in
            try context.session.logIn(userID: "alice")
            return "welcome"
        }
        router.post("/api/ping") { _, _ in "pong" }
        return Application(router: router)
    }

    static let sameOrigin: HTTPFields = [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]

    static func headers(_ cookie: HTTPFields, _ extra: [(String, String)]) -> HTTPFields {
        var headers = cookie
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        return headers
    }

    /// A session whose page was rendered: its cookie and its token.
    static func renderedForm(_ client: some TestClientProtocol) async throws -> (cookie: HTTPFields, token: String) {
        var cookie: HTTPFields = [:]
        var token = ""
        try await client.execute(uri: "/form", method: .get) { response in
            cookie = cookieHeader(sessionCookie(response))
            token = String(buffer: response.body)
        }
        return (cookie, token)
    }

    @Test func aPostFromThePageWithItsTokenPassesAndOneWithoutIsRefusedWritingNothing() async throws {
        try await withStore(.sqlite) { harness in
            try await Self.application(store: harness.store).test(.router) { client in
                // A visitor with no session: nothing of theirs to act on, no token needed.
                try await client.execute(uri: "/token", method: .get) { response in
                    #expect(String(buffer: response.body) == "none")
                    #expect(sessionCookie(response) == nil)
                }
                let (cookie, token) = try await Self.renderedForm(client)
                #expect(token.count == 43)
                try await client.execute(uri: "/cart", method: .post, headers: Self.headers(cookie, [("Content-Type", "application/x-www-form-urlencoded")]), body: ByteBuffer(string: "item=pen")) { response in
                    #expect(response.status == .forbidden)
                    #expect(String(buffer: response.body).contains("Cross-site request refused"))
                }
                try await client.execute(uri: "/cart", method: .post, headers: Self.headers(cookie, [("Content-Type", "application/x-www-form-urlencoded"), ("X-CSRF-Token", String(token.dropLast()) + (token.hasSuffix("A") ? "B" : "A"))]), body: ByteBuffer(string: "item=pen")) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/cart", method: .post, headers: Self.headers(cookie, [("Content-Type", "application/x-www-form-urlencoded"), ("X-CSRF-Token", token)]), body: ByteBuffer(string: "item=book")) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "added book")
                }
                var body = "item=mug&_csrf=\(token)"
                try await client.execute(uri: "/cart", method: .post, headers: Self.headers(cookie, [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "added mug")
                }
                // The token is a form field only in a form; a JSON body is not searched.
                body = #"{"item":"lamp","_csrf":"\#(token)"}"#
                try await client.execute(uri: "/cart", method: .post, headers: Self.headers(cookie, [("Content-Type", "application/json")]), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .forbidden)
                }
            }
            let sessions = try await harness.store.list(SessionQuery(limit: 10)).sessions
            #expect(sessions.count == 1)
            #expect(try sessions.first?.decodeData(as: Cart.self) == Cart(items: ["book", "mug"]))
        }
    }

    @Test func whereTheRequestComesFromIsCheckedBeforeTheToken() async throws {
        try await withStore(.memory) { harness in
            try await Self.application(store: harness.store).test(.router) { client in
                let (cookie, token) = try await Self.renderedForm(client)
                let refused: [[(String, String)]] = [
                    [("Sec-Fetch-Site", "cross-site")],
                    [("Sec-Fetch-Site", "same-site")],
                    [("Origin", "https://evil.example")],
                    [("Origin", "null")],
                ]
                for extra in refused {
                    try await client.execute(uri: "/login", method: .post, headers: Self.headers(cookie, extra + [("X-CSRF-Token", token)])) { response in
                        #expect(response.status == .forbidden, "\(extra)")
                    }
                }
                // No session: a cross-site login is refused by the first line alone.
                try await client.execute(uri: "/login", method: .post, headers: Self.headers([:], [("Sec-Fetch-Site", "cross-site")])) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/login", method: .post, headers: Self.sameOrigin) { response in
                    #expect(response.status == .ok)
                    #expect(sessionCookie(response) != nil)
                }
                // A login gives the session a new token along with its new cookie: a token known
                // before the login (a planted session's) opens nothing after it.
                var rotated: HTTPFields = [:]
                try await client.execute(uri: "/login", method: .post, headers: Self.headers(cookie, [("Origin", "http://localhost"), ("Host", "localhost"), ("X-CSRF-Token", token)])) { response in
                    #expect(response.status == .ok)
                    rotated = cookieHeader(sessionCookie(response))
                }
                let fresh = try await client.execute(uri: "/token", method: .get, headers: rotated) { String(buffer: $0.body) }
                #expect(fresh.count == 43 && fresh != token)
                try await client.execute(uri: "/login", method: .post, headers: Self.headers(rotated, [("X-CSRF-Token", token)])) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/login", method: .post, headers: Self.headers(rotated, [("X-CSRF-Token", fresh)])) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test func safeMethodsExemptRoutesAndDisabledProtectionAreNotChecked() async throws {
        try await withStore(.memory) { harness in
            try await Self.application(store: harness.store, csrf: .exempting(pathsStartingWith: ["/api/"])).test(.router) { client in
                let (cookie, _) = try await Self.renderedForm(client)
                try await client.execute(uri: "/api/ping", method: .post, headers: Self.headers(cookie, [("Sec-Fetch-Site", "cross-site")])) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/login", method: .post, headers: cookie) { response in
                    #expect(response.status == .forbidden)
                }
            }
            try await Self.application(store: harness.store, csrf: .disabled).test(.router) { client in
                let (cookie, _) = try await Self.renderedForm(client)
                try await client.execute(uri: "/login", method: .post, headers: Self.headers(cookie, [("Sec-Fetch-Site", "cross-site")])) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }
}
#endif

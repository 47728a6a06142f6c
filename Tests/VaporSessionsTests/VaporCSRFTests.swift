#if Vapor
import Foundation
import Sessions
import SessionTestSupport
import Testing
import Vapor
import VaporSessions
import VaporTesting

/// The CSRF checks of the Vapor middleware, on by default, as Hummingbird's: the origin first,
/// then the session's token in a header or a form field.
@Suite("Vapor CSRF protection")
struct VaporCSRFTests {
    struct ItemForm: Content {
        var item: String
    }

    static func configure(_ app: Application, store: any SessionStore, csrf: CSRFProtection = .standard) throws {
        app.middleware.use(try SessionStoreMiddleware(store: store, csrf: csrf))
        app.get("form") { req in
            req.session.data["visited"] = "yes"
            return try req.storeSession.csrfToken() ?? "none"
        }
        app.post("cart") { req in
            // The middleware read the form to find the token; the handler still decodes it.
            let form = try req.content.decode(ItemForm.self)
            req.session.data["cart"] = form.item
            return "added \(form.item)"
        }
        app.post("logout") { req in
            req.session.destroy()
            return "bye"
        }
        app.post("api", "ping") { _ in "pong" }
    }

    /// A visitor's first post (no session yet: the origin alone is checked) creates the session;
    /// the next page renders its token.
    static func renderedForm(_ app: Application) async throws -> (cookie: HTTPHeaders, token: String) {
        var cookie: HTTPHeaders = [:]
        try await app.testing().test(.POST, "cart", headers: ["Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"], body: ByteBuffer(string: "item=first")) { response in
            #expect(response.status == .ok)
            cookie = cookieHeader(sessionCookie(response))
        }
        var token = ""
        try await app.testing().test(.GET, "form", headers: cookie) { response in
            #expect(sessionCookie(response) == nil)
            token = response.body.string
        }
        return (cookie, token)
    }

    static func with(_ headers: HTTPHeaders, _ extra: [(String, String)]) -> HTTPHeaders {
        var all = headers
        for (name, value) in extra { all.replaceOrAdd(name: name, value: value) }
        return all
    }

    @Test func theSessionsTokenInAHeaderOrFormPassesAndNothingElseDoes() async throws {
        try await withStore(.sqlite) { harness in
            try await withApp(configure: { try Self.configure($0, store: harness.store) }) { app in
                let (cookie, token) = try await Self.renderedForm(app)
                #expect(token.count == 43)
                let form = ("Content-Type", "application/x-www-form-urlencoded")
                try await app.testing().test(.POST, "cart", headers: Self.with(cookie, [form]), body: ByteBuffer(string: "item=pen")) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.body.string.contains("Cross-site request refused"))
                }
                try await app.testing().test(.POST, "cart", headers: Self.with(cookie, [form, ("X-CSRF-Token", token)]), body: ByteBuffer(string: "item=book")) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string == "added book")
                }
                try await app.testing().test(.POST, "cart", headers: Self.with(cookie, [form]), body: ByteBuffer(string: "_csrf=\(token)&item=mug")) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string == "added mug")
                }
                for extra in [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site"), ("Origin", "https://evil.example")] {
                    try await app.testing().test(.POST, "logout", headers: Self.with(cookie, [extra, ("X-CSRF-Token", token)])) { response in
                        #expect(response.status == .forbidden, "\(extra)")
                    }
                }
                // No session: the origin alone judges the request.
                try await app.testing().test(.POST, "cart", headers: [form.0: form.1, "Sec-Fetch-Site": "same-origin"], body: ByteBuffer(string: "item=lamp")) { response in
                    #expect(response.status == .ok)
                }
                try await app.testing().test(.POST, "cart", headers: [form.0: form.1, "Sec-Fetch-Site": "cross-site"], body: ByteBuffer(string: "item=lamp")) { response in
                    #expect(response.status == .forbidden)
                }
                try await app.testing().test(.POST, "api/ping", headers: Self.with(cookie, [("Sec-Fetch-Site", "cross-site")])) { response in
                    #expect(response.status == .forbidden)
                }
            }
            let sessions = try await harness.store.list(SessionQuery(limit: 10)).sessions
            #expect(sessions.count == 2)
            #expect(sessions.contains { $0.data == Data(#"{"cart":"mug","visited":"yes"}"#.utf8) })
        }
    }

    @Test func anExemptRouteIsNotChecked() async throws {
        try await withStore(.memory) { harness in
            try await withApp(configure: { try Self.configure($0, store: harness.store, csrf: .exempting(pathsStartingWith: ["/api/"])) }) { app in
                let (cookie, _) = try await Self.renderedForm(app)
                try await app.testing().test(.POST, "api/ping", headers: Self.with(cookie, [("Sec-Fetch-Site", "cross-site")])) { response in
                    #expect(response.status == .ok)
                }
                try await app.testing().test(.POST, "logout", headers: cookie) { response in
                    #expect(response.status == .forbidden)
                }
            }
        }
    }
}
#endif

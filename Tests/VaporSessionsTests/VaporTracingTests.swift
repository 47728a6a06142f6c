#if Vapor
import Foundation
import InMemoryTracing
import Sessions
import SessionTestSupport
import Testing
import Tracing
import Vapor
import VaporSessions
import VaporTesting

/// With Vapor's `TracingMiddleware` in front, the store's spans are children of the request's.
@Suite("Vapor tracing")
struct VaporTracingTests {
    @Test(arguments: [false, true])
    func storeSpansNestUnderTheRequestSpan(throughVaporsSession: Bool) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracer = InMemoryTracer()
        let store = try makeTracedStore(in: directory, tracer: tracer)
        try await withTracer(tracer) {
            try await withApp(configure: { app in
                app.middleware.use(TracingMiddleware())
                app.middleware.use(try SessionStoreMiddleware(store: store))
                app.post("login", ":user") { req in
                    let user = try req.parameters.require("user")
                    if throughVaporsSession {
                        req.session.authenticate(Member(sessionID: user))
                    } else {
                        try req.storeSession.logIn(userID: user)
                    }
                    return "welcome"
                }
                app.get("me") { req in req.storeSession.userID ?? "anonymous" }
            }) { app in
                var setCookie: String?
                try await app.testing().test(.POST, "login/alice") { response in setCookie = sessionCookie(response) }
                try await app.testing().test(.GET, "me", headers: cookieHeader(setCookie)) { response in
                    #expect(response.body.string == "alice")
                }
            }
        }
        expectStoreSpansUnderRequests(tracer)
        try await store.close()
    }
}
#endif

#if Hummingbird
import Foundation
import Hummingbird
import HummingbirdSessions
import HummingbirdTesting
import InMemoryTracing
import Sessions
import SessionTestSupport
import Testing
import Tracing

/// With Hummingbird's `TracingMiddleware` in front, the store's spans are children of the request's.
@Suite("Hummingbird tracing")
struct HummingbirdTracingTests {
    @Test func storeSpansNestUnderTheRequestSpan() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracer = InMemoryTracer()
        let store = try makeTracedStore(in: directory, tracer: tracer)
        let router = Router(context: BasicSessionStoreRequestContext.self)
        router.add(middleware: TracingMiddleware())
        router.add(middleware: try SessionStoreMiddleware(store: store))
        router.post("/login/{user}") { _, context in
            try context.session.logIn(userID: try context.parameters.require("user"))
            return "welcome"
        }
        router.get("/cart") { _, context in context.session.userID ?? "anonymous" }
        try await withTracer(tracer) {
            try await Application(router: router).test(.router) { client in
                let cookie = try await client.execute(uri: "/login/alice", method: .post) { sessionCookie($0) }
                try await client.execute(uri: "/cart", method: .get, headers: cookieHeader(cookie)) { response in
                    #expect(String(buffer: response.body) == "alice")
                }
            }
        }
        expectStoreSpansUnderRequests(tracer)
        try await store.close()
    }
}
#endif

#if HummingbirdAuth
import Hummingbird
import HummingbirdAuth
import HummingbirdSessions
import HummingbirdSessionsAuth
import HummingbirdTesting
import Sessions
import SessionTestSupport
import Testing

@Suite("hummingbird-auth identity from the session")
struct SessionStoreAuthenticatorTests {
    struct User: Sendable {
        let id: String
    }

    @Test func theSessionsUserIsTheRequestIdentity() async throws {
        try await withStore(.sqlite) { harness in
            let router = Router(context: AuthSessionStoreRequestContext<User>.self)
            router.add(middleware: try SessionStoreMiddleware(store: harness.store))
            router.add(middleware: SessionStoreAuthenticator(context: AuthSessionStoreRequestContext<User>.self) { id, _ in
                id == "ghost" ? nil : User(id: id)
            })
            router.group("/private")
                .add(middleware: IsAuthenticatedMiddleware())
                .get { _, context in try context.requireIdentity().id }
            let alice = try await harness.store.create(userID: "alice")
            let anonymous = try await harness.store.create()
            let ghost = try await harness.store.create(userID: "ghost")
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/private", method: .get, headers: [.cookie: "__Host-session=\(alice.token.stringValue)"]) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "alice")
                }
                for token in [anonymous.token, ghost.token, SessionToken.generate()] {
                    try await client.execute(uri: "/private", method: .get, headers: [.cookie: "__Host-session=\(token.stringValue)"]) { response in
                        #expect(response.status == .unauthorized)
                    }
                }
                try await client.execute(uri: "/private", method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
            }
        }
    }
}
#endif

#if Hummingbird
// README Hummingbird: begin (the listing of HummingbirdSessions.docc/Hummingbird.md)
import Hummingbird
import HummingbirdSessions
import RedisSessions
import Sessions
import SQLiteSessions

struct ShoppingCart: Codable, Sendable {
    var items: [String] = []
}

func makeShop(store: any SessionStore) throws -> Router<BasicSessionStoreRequestContext> {
    let router = Router(context: BasicSessionStoreRequestContext.self)
    // Secure cookie defaults (__Host-session, Secure, HttpOnly, SameSite=Lax, Path=/) and CSRF checks.
    router.add(middleware: try SessionStoreMiddleware(store: store))

    router.get("/cart") { _, context in
        let cart = try context.session.data(as: ShoppingCart.self) ?? ShoppingCart()
        // Forms that post back carry the session's token (scripts send it as X-CSRF-Token).
        let token = try context.session.csrfToken() ?? ""
        return "\(cart.items.joined(separator: ", "))<form method=post action=/logout><input type=hidden name=_csrf value=\(token)><button>Log out</button></form>"
    }
    router.post("/cart/{item}") { _, context in
        let item = try context.parameters.require("item")
        // Replayed on a fresh read if another request saved this session first: no lost update.
        try context.session.updateData(as: ShoppingCart.self, default: ShoppingCart()) { $0.items.append(item) }
        return "added"
    }
    router.post("/login") { _, context in
        // After checking the password: a new token now, the cookie from before is dead.
        try context.session.logIn(userID: "alice")
        return "welcome"
    }
    router.post("/logout") { _, context in
        try context.session.logOut()
        return "bye"
    }
    router.post("/logout-everywhere") { _, context in
        "signed out of \(try await context.session.logOutEverywhere()) sessions"
    }
    return router
}

func runShop() async throws {
    // SQLite with a memory cache by default; SESSION_REPLICATE_TO=redis://… mirrors it to Redis.
    let setup = try SessionStoreFactory.make(plugins: [.redis])
    // The sweeper (and the replicator) run beside the server; the store closes on shutdown.
    let app = Application(router: try makeShop(store: setup.store), services: setup.services)
    try await app.runService()
}
// README Hummingbird: end
#endif

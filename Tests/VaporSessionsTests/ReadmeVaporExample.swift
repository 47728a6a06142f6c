#if Vapor
// README Vapor: begin
import Vapor
import VaporSessions
import RedisSessions
import SQLiteSessions

func configureSessions(_ app: Application) throws {
    // SQLite with a memory cache by default; SESSION_REPLICATE_TO=redis://… mirrors it to Redis.
    let setup = try SessionStoreFactory.make(plugins: [.redis])
    app.sessions.use(.store(setup.store))          // before app.sessions.middleware is read
    app.sessions.configuration = try .store()      // __Host-session, HttpOnly, Secure, SameSite=Lax
    app.middleware.use(app.sessions.middleware)
    // The sweeper (and the replicator) from boot to shutdown; then the store closes.
    app.lifecycle.use(SessionStoreLifecycle(store: setup.store, services: setup.services))

    app.post("login") { req in
        // After checking the password: a new token when the response is written.
        try req.storeSession.logIn(userID: "alice")
        return "welcome"
    }
    app.post("cart", ":item") { req in
        req.session.data["cart"] = try req.parameters.require("item")   // Vapor's own session data
        return "added"
    }
    app.post("logout-everywhere") { req in
        "signed out of \(try await req.storeSession.logOutEverywhere()) sessions"
    }
}
// README Vapor: end
#endif

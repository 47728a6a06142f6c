#if Vapor
// README Vapor: begin
import Vapor
import VaporSessions
import RedisSessions
import SQLiteSessions

func configureSessions(_ app: Application) throws {
    // SQLite with a memory cache by default; SESSION_REPLICATE_TO=redis://… mirrors it to Redis.
    let setup = try SessionStoreFactory.make(plugins: [.redis])
    // Driver, secure cookie, middleware (with CSRF checks), and the sweeper from boot to shutdown.
    try app.sessions.use(.store(setup.store, services: setup.services))

    app.post("login") { req in
        // After checking the password: a new token when the response is written.
        try req.storeSession.logIn(userID: "alice")
        return "welcome"
    }
    app.post("cart", ":item") { req in
        req.session.data["cart"] = try req.parameters.require("item")   // Vapor's own session data
        return "added"
    }
    app.get("cart") { req in
        // Forms that post back carry the session's token (or send it as X-CSRF-Token).
        let token = try req.storeSession.csrfToken() ?? ""
        return "<form method=post action=/cart/book><input type=hidden name=_csrf value=\(token)></form>"
    }
    app.post("logout-everywhere") { req in
        "signed out of \(try await req.storeSession.logOutEverywhere()) sessions"
    }
}
// README Vapor: end
#endif

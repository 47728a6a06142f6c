// README quick start: begin (the listing of Sessions.docc/GettingStarted.md)
import Foundation
import Sessions
import SQLiteSessions

struct Cart: Codable {
    var items: [String] = []
}

func quickStart(databasePath: String) async throws {
    // The one line that picks the store; everything below works with any SessionStore.
    let store: any SessionStore = try SQLiteSessionStore(path: databasePath)

    // Log in: mint a token and give it to the client (a Secure, HttpOnly cookie).
    let issued = try await store.create(
        userID: "alice",
        value: Cart(),
        client: SessionClient(ip: "203.0.113.7", userAgent: "Firefox/140")
    )
    let cookie = issued.token.stringValue

    // Each request: parse the cookie (a bad token fails before any I/O), then load.
    let token = try SessionToken(cookie)
    guard var session = try await store.load(token) else {
        return  // missing or expired: the user is logged out
    }
    var cart = try session.decode(Cart.self)
    cart.items.append("book")
    try session.encode(cart)
    session = try await store.save(session, expectedVersion: session.version)

    // Privilege change: a new token for the same session; the old one dies at once.
    guard let rotated = try await store.rotate(token) else { return }
    print("new cookie:", rotated.token.stringValue)

    // Log out everywhere, then close (pending writes finish first).
    _ = try await store.deleteSessions(forUser: "alice")
    try await store.close()
}
// README quick start: end

// Shared with tools/fluent-peer (a symbolic link there), so every Vapor site the benchmark
// measures serves the same routes with the same handlers.
#if Vapor || FluentPeer
import SampleShop
import Vapor

/// An HTML page that is never cached.
func page(_ html: String, status: HTTPResponseStatus = .ok) -> Response {
    var headers = HTTPHeaders()
    headers.contentType = .html
    headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return Response(status: status, headers: headers, body: .init(string: html))
}

/// The cart in Vapor's string dictionary: one `cart.<item>` key per item, its quantity as text.
func cart(in data: SessionData) -> Cart {
    var cart = Cart()
    for (key, value) in data.snapshot where key.hasPrefix("cart.") {
        cart.items[String(key.dropFirst(5))] = Int(value)
    }
    return cart
}

/// GET /, POST /login and POST /cart on Vapor's `req.session`.
///
/// - Parameters:
///   - csrfToken: The token the page's forms carry; nil for sessions without CSRF protection.
///   - loggedIn: Called after a login is recorded in `req.session` (the store rotates the token here).
func addShopRoutes(
    to app: Application,
    csrfToken: @escaping @Sendable (Request) throws -> String? = { _ in nil },
    loggedIn: @escaping @Sendable (Request, DemoUser) throws -> Void = { _, _ in }
) {
    app.get { req -> Response in
        let user = req.session.data["user"].flatMap { DemoUser.all[$0] }
        return page(ShopPages.home(user: user, cart: cart(in: req.session.data), csrf: try csrfToken(req)))
    }

    app.post("login") { req -> Response in
        let form = try req.content.decode(LoginForm.self)
        guard let user = DemoUser.all[form.user], form.password == DemoUser.password else {
            return page(ShopPages.home(user: nil, cart: Cart(), csrf: try csrfToken(req), problem: "Unknown user or wrong password."), status: .unauthorized)
        }
        req.session.data["user"] = user.id
        try loggedIn(req, user)
        return req.redirect(to: "/", redirectType: .normal)
    }

    app.post("cart") { req -> Response in
        let form = try req.content.decode(CartForm.self)
        guard Cart.catalogue.contains(form.item) else { throw Abort(.badRequest, reason: "there is no such item") }
        var current = cart(in: req.session.data)
        current.change(form.item, removing: form.removes)
        req.session.data["cart.\(form.item)"] = current.items[form.item].map(String.init)
        return req.redirect(to: "/cart", redirectType: .normal)
    }
}
#endif

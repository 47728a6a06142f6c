#if HummingbirdAuth
import Hummingbird
import HummingbirdAuth
import HummingbirdSessions
import HummingbirdSessionsAuth
import Sessions

/// A demo user; the site knows a fixed list and one password for all of them.
struct DemoUser: Sendable {
    let id: String
    let name: String

    static let all: [String: DemoUser] = [
        "alice": DemoUser(id: "alice", name: "Alice"),
        "bob": DemoUser(id: "bob", name: "Bob"),
        "carol": DemoUser(id: "carol", name: "Carol"),
    ]
    static let password = "demo"
}

/// What the session keeps: the cart, anonymous or signed in.
struct Cart: Codable, Sendable, Equatable {
    var items: [String: Int] = [:]

    var count: Int { items.values.reduce(0, +) }

    static let catalogue = ["book", "pen", "mug", "lamp"]
}

enum SampleSite {
    typealias Context = AuthSessionStoreRequestContext<DemoUser>

    struct LoginForm: Decodable {
        var user: String
        var password: String
    }

    struct CartForm: Decodable {
        var item: String
        var action: String?
    }

    struct RevokeForm: Decodable {
        var session: String
    }

    static func router(store: any SessionStore, cookie: SessionCookieOptions) throws -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: try SessionStoreMiddleware(store: store, cookie: cookie))
        router.add(middleware: SessionStoreAuthenticator(context: Context.self) { id, _ in DemoUser.all[id] })

        router.get("/") { _, context in
            let cart = try context.session.data(as: Cart.self) ?? Cart()
            return Page.home(user: context.identity, cart: cart)
        }

        router.post("/login") { request, context in
            let form = try await URLEncodedFormDecoder().decode(LoginForm.self, from: request, context: context)
            guard let user = DemoUser.all[form.user], form.password == DemoUser.password else {
                return Page.home(user: nil, cart: try context.session.data(as: Cart.self) ?? Cart(), problem: "Unknown user or wrong password.")
                    .response(status: .unauthorized)
            }
            // A new token for this browser: the cookie it had before stops working now.
            try context.session.logIn(userID: user.id)
            return Response.redirect(to: "/", type: .normal)
        }

        router.get("/cart") { _, context in
            Page.cart(user: context.identity, cart: try context.session.data(as: Cart.self) ?? Cart())
        }

        router.post("/cart") { request, context in
            let form = try await URLEncodedFormDecoder().decode(CartForm.self, from: request, context: context)
            guard Cart.catalogue.contains(form.item) else { throw HTTPError(.badRequest, message: "there is no such item") }
            let item = form.item
            let removing = form.action == "remove"
            // Replayed on a fresh read if another tab saved the cart first, so no change is lost.
            try context.session.updateData(as: Cart.self, default: Cart()) { cart in
                let quantity = (cart.items[item] ?? 0) + (removing ? -1 : 1)
                cart.items[item] = quantity > 0 ? quantity : nil
            }
            return Response.redirect(to: "/cart", type: .normal)
        }

        router.get("/sessions") { _, context in
            guard let user = context.identity else { return Response.redirect(to: "/", type: .normal) }
            let devices = try await context.session.sessionsOfUser()
            return Page.devices(user: user, devices: devices.map { ($0, context.session.isCurrent($0)) }, now: store.policy.now)
                .response()
        }

        router.post("/sessions/revoke") { request, context in
            let form = try await URLEncodedFormDecoder().decode(RevokeForm.self, from: request, context: context)
            guard let hash = TokenHash(hex: form.session) else { throw HTTPError(.badRequest, message: "not a session") }
            try await context.session.revoke(hash)
            return Response.redirect(to: context.session.exists ? "/sessions" : "/", type: .normal)
        }

        router.post("/logout-everywhere") { _, context in
            try await context.session.logOutEverywhere()
            return Response.redirect(to: "/", type: .normal)
        }

        router.post("/logout") { _, context in
            try context.session.logOut()
            return Response.redirect(to: "/", type: .normal)
        }
        return router
    }
}
#endif

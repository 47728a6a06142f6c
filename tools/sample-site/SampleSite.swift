#if HummingbirdAuth
import Hummingbird
import HummingbirdAuth
import HummingbirdSessions
import HummingbirdSessionsAuth
import SampleShop
import Sessions

enum SampleSite {
    typealias Context = AuthSessionStoreRequestContext<DemoUser>

    struct RevokeForm: Decodable {
        var session: String
    }

    static func router(store: any SessionStore, cookie: SessionCookieOptions) throws -> Router<Context> {
        let router = Router(context: Context.self)
        // Every form below carries the session's CSRF token; the middleware checks it on each post.
        router.add(middleware: try SessionStoreMiddleware(store: store, cookie: cookie))
        router.add(middleware: SessionStoreAuthenticator(context: Context.self) { id, _ in DemoUser.all[id] })

        router.get("/") { _, context in
            let cart = try context.session.data(as: Cart.self) ?? Cart()
            return Page(html: ShopPages.home(user: context.identity, cart: cart, csrf: try context.session.csrfToken()))
        }

        router.post("/login") { request, context in
            let form = try await URLEncodedFormDecoder().decode(LoginForm.self, from: request, context: context)
            guard let user = DemoUser.all[form.user], form.password == DemoUser.password else {
                let cart = try context.session.data(as: Cart.self) ?? Cart()
                return Page(html: ShopPages.home(user: nil, cart: cart, csrf: try context.session.csrfToken(), problem: "Unknown user or wrong password.")).response(status: .unauthorized)
            }
            // A new token for this browser: the cookie it had before stops working now.
            try context.session.logIn(userID: user.id)
            return Response.redirect(to: "/", type: .normal)
        }

        router.get("/cart") { _, context in
            Page(html: ShopPages.cart(user: context.identity, cart: try context.session.data(as: Cart.self) ?? Cart(), csrf: try context.session.csrfToken()))
        }

        router.post("/cart") { request, context in
            let form = try await URLEncodedFormDecoder().decode(CartForm.self, from: request, context: context)
            guard Cart.catalogue.contains(form.item) else { throw HTTPError(.badRequest, message: "there is no such item") }
            let item = form.item
            let removing = form.removes
            // Replayed on a fresh read if another tab saved the cart first, so no change is lost.
            try context.session.updateData(as: Cart.self, default: Cart()) { $0.change(item, removing: removing) }
            return Response.redirect(to: "/cart", type: .normal)
        }

        router.get("/sessions") { _, context in
            guard let user = context.identity else { return Response.redirect(to: "/", type: .normal) }
            let devices = try await context.session.sessionsOfUser()
            let rows = devices.map { session in
                ShopDevice(
                    id: session.tokenHash.hex,
                    userAgent: session.lastSeenUserAgent ?? session.userAgent ?? "unknown",
                    address: session.lastSeenIP ?? session.ip ?? "unknown",
                    signedIn: session.createdAt.description,
                    lastSeen: session.lastSeenAt.description,
                    isCurrent: context.session.isCurrent(session)
                )
            }
            return Page(html: ShopPages.devices(user: user, devices: rows, csrf: try context.session.csrfToken())).response()
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

/// The sample shop's pages as HTML text, for the sample site and for the benchmark's peer built on
/// hummingbird-auth's own sessions, so both serve the same bytes. Every value that came from a
/// request or the store goes through ``escape(_:)``. Every form that posts carries the session's
/// CSRF token when there is one (`csrf`; the peers without CSRF protection pass nil).
public enum ShopPages {
    /// A whole page.
    public static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>body{font-family:sans-serif;max-width:46rem;margin:2rem auto}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}form{display:inline}</style></head>
        <body>\(body)</body></html>
        """
    }

    /// `text` with the characters HTML gives meaning to replaced by entities.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// The hidden field that sends the session's CSRF token back with a form; empty without one.
    public static func tokenField(_ csrf: String?) -> String {
        csrf.map { #"<input type="hidden" name="_csrf" value="\#(escape($0))">"# } ?? ""
    }

    /// The links at the top of every page.
    static func navigation(user: DemoUser?, csrf: String?) -> String {
        var links = #"<nav><a href="/">Home</a> · <a href="/cart">Cart</a>"#
        if user != nil {
            links += #" · <a href="/sessions">Your sessions</a> · <form method="post" action="/logout">\#(tokenField(csrf))<button id="logout">Log out</button></form>"#
        }
        return links + "</nav>"
    }

    /// The home page: a greeting and the cart size when signed in, the sign-in form otherwise.
    public static func home(user: DemoUser?, cart: Cart, csrf: String?, problem: String? = nil) -> String {
        var body = navigation(user: user, csrf: csrf)
        if let user {
            body += #"<h1 id="greeting">Hello, \#(escape(user.name))</h1>"#
            body += #"<p>You are signed in as <span id="user">\#(escape(user.id))</span>. Your cart holds <span id="cart-count">\#(cart.count)</span> items.</p>"#
        } else {
            body += "<h1>Sign in</h1>"
            if let problem { body += #"<p id="problem">\#(escape(problem))</p>"# }
            body += #"""
                <form method="post" action="/login">\#(tokenField(csrf))
                <label>User <select id="login-user" name="user">\#(DemoUser.all.keys.sorted().map { "<option>\(escape($0))</option>" }.joined())</select></label>
                <label>Password <input id="login-password" name="password" type="password"></label>
                <button id="login">Sign in</button></form>
                <p>Every demo user's password is <code>\#(DemoUser.password)</code>. Your cart holds <span id="cart-count">\#(cart.count)</span> items.</p>
                """#
        }
        return document(title: "Sample shop", body: body)
    }

    /// The cart, with a button to add and to remove each item of the catalogue.
    public static func cart(user: DemoUser?, cart: Cart, csrf: String?) -> String {
        let token = tokenField(csrf)
        var body = navigation(user: user, csrf: csrf) + "<h1>Cart</h1><table id=\"cart\"><tr><th>Item</th><th>Quantity</th><th></th></tr>"
        for item in Cart.catalogue {
            let quantity = cart.items[item] ?? 0
            body += #"""
                <tr><td>\#(item)</td><td id="quantity-\#(item)">\#(quantity)</td><td>
                <form method="post" action="/cart">\#(token)<input type="hidden" name="item" value="\#(item)"><button id="add-\#(item)">Add</button></form>
                <form method="post" action="/cart">\#(token)<input type="hidden" name="item" value="\#(item)"><input type="hidden" name="action" value="remove"><button id="remove-\#(item)">Remove</button></form>
                </td></tr>
                """#
        }
        return document(title: "Cart", body: body + "</table>")
    }

    /// "Your sessions": the user's devices, this one marked, each with a button that signs it out.
    public static func devices(user: DemoUser, devices: [ShopDevice], csrf: String?) -> String {
        let token = tokenField(csrf)
        var body = navigation(user: user, csrf: csrf) + "<h1>Your sessions</h1>"
        body += #"<table id="devices"><tr><th>Device</th><th>Address</th><th>Signed in</th><th>Last seen</th><th></th></tr>"#
        for device in devices {
            let (hash, isCurrent) = (escape(device.id), device.isCurrent)
            body += #"<tr class="device" data-session="\#(hash)"\#(isCurrent ? #" id="this-device""# : "")>"#
            body += "<td>\(escape(device.userAgent))\(isCurrent ? " <strong>(this device)</strong>" : "")</td>"
            body += "<td>\(escape(device.address))</td>"
            body += "<td>\(escape(device.signedIn))</td><td>\(escape(device.lastSeen))</td>"
            body += #"<td><form method="post" action="/sessions/revoke">\#(token)<input type="hidden" name="session" value="\#(hash)"><button class="revoke">Sign out</button></form></td></tr>"#
        }
        body += "</table>"
        body += #"<p><form method="post" action="/logout-everywhere">\#(token)<button id="logout-everywhere">Log out everywhere</button></form></p>"#
        return document(title: "Your sessions", body: body)
    }
}

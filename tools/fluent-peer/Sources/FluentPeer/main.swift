// GET /, POST /cart and POST /login with Vapor's Fluent session driver on SQLite (the file in
// SESSION_DB, default ./fluent-peer.sqlite). GET /_writes tells how many session writes the
// driver got. Options: --port N (default 8083).

import Fluent
import FluentSQLiteDriver
import Foundation
import SampleShop
import Vapor

var port = 8083
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port":
        guard let value = arguments.popFirst().flatMap(Int.init) else { exit(2) }
        port = value
    case "--help":
        print("usage: fluent-peer [--port 8083]")
        exit(0)
    default:
        FileHandle.standardError.write(Data("unknown option \(argument)\n".utf8))
        exit(2)
    }
}

func page(_ html: String, status: HTTPResponseStatus = .ok) -> Response {
    var headers = HTTPHeaders()
    headers.contentType = .html
    headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return Response(status: status, headers: headers, body: .init(string: html))
}

func cart(in data: SessionData) -> Cart {
    var cart = Cart()
    for (key, value) in data.snapshot where key.hasPrefix("cart.") {
        cart.items[String(key.dropFirst(5))] = Int(value)
    }
    return cart
}

var vaporEnvironment = Environment.production
vaporEnvironment.arguments = ["fluent-peer"]
let app = try await Application.make(vaporEnvironment)
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = port
app.logger.logLevel = .warning
let path = ProcessInfo.processInfo.environment["SESSION_DB"] ?? "fluent-peer.sqlite"
app.databases.use(.sqlite(.file(path)), as: .sqlite)
app.migrations.add(SessionRecord.migration)
try await app.autoMigrate()

let driver = CountingSessionDriver(base: app.fluent.sessions.driver())
app.sessions.use { _ in driver }
app.middleware.use(app.sessions.middleware)

app.get { req -> Response in
    let user = req.session.data["user"].flatMap { DemoUser.all[$0] }
    return page(ShopPages.home(user: user, cart: cart(in: req.session.data)))
}

app.post("login") { req -> Response in
    let form = try req.content.decode(LoginForm.self)
    guard let user = DemoUser.all[form.user], form.password == DemoUser.password else {
        return page(ShopPages.home(user: nil, cart: Cart(), problem: "Unknown user or wrong password."), status: .unauthorized)
    }
    req.session.data["user"] = user.id
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

app.get("_writes") { _ in "\(driver.counter.count)" }

try await app.execute()
try await app.asyncShutdown()

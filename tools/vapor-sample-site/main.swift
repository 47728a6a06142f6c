// The sample shop's benchmark routes (GET /, POST /cart, POST /login) on Vapor, with sessions kept
// one of three ways, so sessionbench can put them side by side:
//
//   vapor-sample-site --sessions driver       this package's store through Vapor's SessionsMiddleware
//   vapor-sample-site --sessions middleware   this package's store through StoreSessionsMiddleware
//   vapor-sample-site --sessions memory       Vapor's own memory sessions
//
// The store comes from the environment (SessionStoreFactory: SQLite with a memory cache by
// default, SESSION_DB). GET /_writes tells how many session writes Vapor's memory driver got.
// Options: --port N (default 8082).

#if Vapor
import Foundation
import RedisSessions
import SampleShop
import Sessions
import SQLiteSessions
import Vapor
import VaporSessions

enum Mode: String {
    case driver, middleware, memory
}

/// The command line: the session mode and the port.
func parseOptions() -> (mode: Mode, port: Int) {
    var mode = Mode.driver
    var port = 8082
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--sessions":
            guard let value = arguments.popFirst(), let parsed = Mode(rawValue: value) else {
                FileHandle.standardError.write(Data("--sessions takes driver, middleware or memory\n".utf8))
                exit(2)
            }
            mode = parsed
        case "--port":
            guard let value = arguments.popFirst().flatMap(Int.init) else {
                FileHandle.standardError.write(Data("--port takes a number\n".utf8))
                exit(2)
            }
            port = value
        case "--help":
            print("usage: vapor-sample-site [--sessions driver|middleware|memory] [--port 8082]")
            exit(0)
        default:
            FileHandle.standardError.write(Data("unknown option \(argument)\n".utf8))
            exit(2)
        }
    }
    return (mode, port)
}

let (mode, port) = parseOptions()

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

var environment = ProcessInfo.processInfo.environment
if environment["SESSION_DB"] == nil { environment["SESSION_DB"] = "vapor-sample-site.sqlite" }
let setup = try SessionStoreFactory.make(environment: environment, plugins: [.redis])

var vaporEnvironment = Environment.production
vaporEnvironment.arguments = ["vapor-sample-site"]
let app = try await Application.make(vaporEnvironment)
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = port
app.logger.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
app.lifecycle.use(SessionStoreLifecycle(store: setup.store, services: setup.services))

let memoryWrites: CountingSessionDriver.WriteCounter?
switch mode {
case .driver:
    app.sessions.use(.store(setup.store))
    app.sessions.configuration = try .store(maxAge: .seconds(24 * 3600))
    app.middleware.use(app.sessions.middleware)
    memoryWrites = nil
case .memory:
    let driver = CountingSessionDriver(base: app.sessions.memory)
    app.sessions.use { _ in driver }
    app.middleware.use(app.sessions.middleware)
    memoryWrites = driver.counter
case .middleware:
    app.middleware.use(try StoreSessionsMiddleware(store: setup.store))
    memoryWrites = nil
}

app.get { req -> Response in
    switch mode {
    case .middleware:
        let user = req.requestSession.userID.flatMap { DemoUser.all[$0] }
        return page(ShopPages.home(user: user, cart: try req.requestSession.data(as: Cart.self) ?? Cart()))
    case .driver, .memory:
        let user = req.session.data["user"].flatMap { DemoUser.all[$0] }
        return page(ShopPages.home(user: user, cart: cart(in: req.session.data)))
    }
}

app.post("login") { req -> Response in
    let form = try req.content.decode(LoginForm.self)
    guard let user = DemoUser.all[form.user], form.password == DemoUser.password else {
        return page(ShopPages.home(user: nil, cart: Cart(), problem: "Unknown user or wrong password."), status: .unauthorized)
    }
    switch mode {
    case .middleware:
        try req.requestSession.logIn(userID: user.id)
    case .driver:
        req.session.data["user"] = user.id
        try req.storeSession.logIn(userID: user.id)
    case .memory:
        req.session.data["user"] = user.id
    }
    return req.redirect(to: "/", redirectType: .normal)
}

app.post("cart") { req -> Response in
    let form = try req.content.decode(CartForm.self)
    guard Cart.catalogue.contains(form.item) else { throw Abort(.badRequest, reason: "there is no such item") }
    let (item, removing) = (form.item, form.removes)
    switch mode {
    case .middleware:
        try req.requestSession.updateData(as: Cart.self, default: Cart()) { $0.change(item, removing: removing) }
    case .driver, .memory:
        var current = cart(in: req.session.data)
        current.change(item, removing: removing)
        req.session.data["cart.\(item)"] = current.items[item].map(String.init)
    }
    return req.redirect(to: "/cart", redirectType: .normal)
}

app.get("_writes") { _ in "\(memoryWrites?.count ?? 0)" }

try await app.execute()
try await app.asyncShutdown()
#else
import Foundation

FileHandle.standardError.write(Data("vapor-sample-site needs the Vapor trait: swift run --traits Vapor vapor-sample-site\n".utf8))
exit(2)
#endif

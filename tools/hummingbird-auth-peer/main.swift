// The sample shop's benchmark routes (GET /, POST /cart, POST /login) built on hummingbird-auth's
// own sessions (SessionMiddleware over MemoryPersistDriver), so sessionbench can put this
// package's store beside Hummingbird's in one run. GET /_writes tells how many times the driver
// was asked to store or remove a session.
//
//   hummingbird-auth-peer --port 8081

#if HummingbirdAuth
import Foundation
import Hummingbird
import HummingbirdAuth
import SampleShop
import Synchronization

/// What hummingbird-auth keeps per session here: the user and the cart.
struct PeerSession: Codable, Sendable {
    var userID: String?
    var cart = Cart()
}

/// A `MemoryPersistDriver` that counts the writes it is asked for.
struct CountingPersistDriver: PersistDriver {
    let base = MemoryPersistDriver()
    let writes = WriteCounter()

    final class WriteCounter: Sendable {
        let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
    }

    func run() async throws { try await base.run() }

    func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        writes.add()
        try await base.create(key: key, value: value, expires: expires)
    }

    func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        writes.add()
        try await base.set(key: key, value: value, expires: expires)
    }

    func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await base.get(key: key, as: type)
    }

    func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        try await base.getWithTTL(key: key, as: type)
    }

    func remove(key: String) async throws {
        writes.add()
        try await base.remove(key: key)
    }
}

func page(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status,
        headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: html))
    )
}

if CommandLine.arguments.contains("--help") {
    print("usage: hummingbird-auth-peer [--port 8081]")
    exit(0)
}
var port = 8081
if let index = CommandLine.arguments.firstIndex(of: "--port"), index + 1 < CommandLine.arguments.count, let value = Int(CommandLine.arguments[index + 1]) {
    port = value
}

typealias Context = BasicSessionRequestContext<PeerSession, DemoUser>
let driver = CountingPersistDriver()
let router = Router(context: Context.self)
router.add(middleware: SessionMiddleware(storage: driver))

router.get("/") { _, context in
    let session = context.sessions.session
    return page(ShopPages.home(user: session?.userID.flatMap { DemoUser.all[$0] }, cart: session?.cart ?? Cart(), csrf: nil))
}

router.post("/login") { request, context in
    let form = try await URLEncodedFormDecoder().decode(LoginForm.self, from: request, context: context)
    guard let user = DemoUser.all[form.user], form.password == DemoUser.password else {
        return page(ShopPages.home(user: nil, cart: Cart(), csrf: nil, problem: "Unknown user or wrong password."), status: .unauthorized)
    }
    context.sessions.createSession(PeerSession(userID: user.id, cart: context.sessions.session?.cart ?? Cart()))
    return Response.redirect(to: "/", type: .normal)
}

router.post("/cart") { request, context in
    let form = try await URLEncodedFormDecoder().decode(CartForm.self, from: request, context: context)
    guard Cart.catalogue.contains(form.item) else { throw HTTPError(.badRequest, message: "there is no such item") }
    var session = context.sessions.session ?? PeerSession()
    session.cart.change(form.item, removing: form.removes)
    if context.sessions.session == nil {
        context.sessions.createSession(session)
    } else {
        _ = context.sessions.updateSession(session)
    }
    return Response.redirect(to: "/cart", type: .normal)
}

router.get("/_writes") { _, _ in
    "\(driver.writes.value.load(ordering: .relaxed))"
}

let app = Application(
    router: router,
    configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port), serverName: "hummingbird-auth-peer"),
    services: [driver]
)
try await app.runService()
#else
import Foundation

FileHandle.standardError.write(Data("hummingbird-auth-peer needs the HummingbirdAuth trait\n".utf8))
exit(2)
#endif

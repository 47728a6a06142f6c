// The sample shop's benchmark routes (GET /, POST /cart, POST /login) on Vapor, with sessions kept
// one of two ways by the same handlers (Vapor's req.session), so sessionbench can put them side
// by side:
//
//   vapor-sample-site --sessions store    this package's store: app.sessions.use(.store(store)), CSRF checked
//   vapor-sample-site --sessions memory   Vapor's own memory sessions
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
    case store, memory
}

/// The command line: the session mode and the port.
func parseOptions() -> (mode: Mode, port: Int) {
    var mode = Mode.store
    var port = 8082
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--sessions":
            guard let value = arguments.popFirst(), let parsed = Mode(rawValue: value) else {
                FileHandle.standardError.write(Data("--sessions takes store or memory\n".utf8))
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
            print("usage: vapor-sample-site [--sessions store|memory] [--port 8082]")
            exit(0)
        default:
            FileHandle.standardError.write(Data("unknown option \(argument)\n".utf8))
            exit(2)
        }
    }
    return (mode, port)
}

let (mode, port) = parseOptions()

var environment = ProcessInfo.processInfo.environment
if environment["SESSION_DB"] == nil { environment["SESSION_DB"] = "vapor-sample-site.sqlite" }

var vaporEnvironment = Environment.production
vaporEnvironment.arguments = ["vapor-sample-site"]
let app = try await Application.make(vaporEnvironment)
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = port
app.logger.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning

let memoryWrites: CountingSessionDriver.WriteCounter?
switch mode {
case .store:
    let setup = try SessionStoreFactory.make(environment: environment, plugins: [.redis])
    // The one line an app adds: driver, secure cookie, middleware with CSRF checks, lifecycle.
    try app.sessions.use(.store(setup.store, services: setup.services))
    // A new token at each login, and the CSRF token in every form.
    addShopRoutes(to: app, csrfToken: { try $0.storeSession.csrfToken() }, loggedIn: { try $0.storeSession.logIn(userID: $1.id) })
    memoryWrites = nil
case .memory:
    let driver = CountingSessionDriver(base: app.sessions.memory)
    app.sessions.use { _ in driver }
    app.middleware.use(app.sessions.middleware)
    addShopRoutes(to: app)
    memoryWrites = driver.counter
}

app.get("_writes") { _ in "\(memoryWrites?.count ?? 0)" }

try await app.execute()
try await app.asyncShutdown()
#else
import Foundation

FileHandle.standardError.write(Data("vapor-sample-site needs the Vapor trait: swift run --traits Vapor vapor-sample-site\n".utf8))
exit(2)
#endif

// A small web shop on Hummingbird that keeps its sessions in this package's store: log in as a
// demo user, fill a cart, see the devices you are signed in on, sign one out, log out everywhere.
//
//   swift run --traits HummingbirdAuth sample-site            then open http://localhost:8080
//
// The store comes from the environment (SessionStoreFactory): a SQLite file with a memory cache
// in front by default (SESSION_DB, default ./sample-site.sqlite); SESSION_REPLICATE_TO=redis://…
// mirrors it to Redis. Options: --host, --port, --development-cookie (a cookie without Secure, for
// plain HTTP on a host name other than localhost).

#if HummingbirdAuth
import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdSessions
import HummingbirdSessionsAuth
import Logging
import RedisSessions
import ServiceLifecycle
import Sessions
import SQLiteSessions

struct Options {
    var host = "127.0.0.1"
    var port = 8080
    var cookie = SessionCookieOptions.secure

    init(arguments: [String]) throws {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--host":
                host = try Self.value(after: argument, in: &remaining)
            case "--port":
                let text = try Self.value(after: argument, in: &remaining)
                guard let number = Int(text), (0...65535).contains(number) else { throw UsageError("--port \(text) is not a port number") }
                port = number
            case "--development-cookie":
                cookie = .development
            case "--help", "-h":
                print(UsageError(nil))
                exit(0)
            default:
                throw UsageError("unknown option \(argument)")
            }
        }
    }

    private static func value(after option: String, in remaining: inout ArraySlice<String>) throws -> String {
        guard let value = remaining.popFirst() else { throw UsageError("\(option) needs a value") }
        return value
    }
}

struct UsageError: Error, CustomStringConvertible {
    let problem: String?
    init(_ problem: String?) { self.problem = problem }
    var description: String {
        (problem.map { "sample-site: \($0)\n" } ?? "") + "usage: sample-site [--host 127.0.0.1] [--port 8080] [--development-cookie]"
    }
}

let options: Options
do {
    options = try Options(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}

var environment = ProcessInfo.processInfo.environment
if environment["SESSION_DB"] == nil { environment["SESSION_DB"] = "sample-site.sqlite" }
var logger = Logger(label: "sample-site")
logger.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
let setup: SessionStoreFactory.Setup
do {
    setup = try SessionStoreFactory.make(environment: environment, plugins: [.redis])
} catch {
    FileHandle.standardError.write(Data("sample-site: \(error)\n".utf8))
    exit(1)
}

let router = try SampleSite.router(store: setup.store, cookie: options.cookie)
let app = Application(
    router: router,
    configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port), serverName: "sample-site"),
    services: setup.services,
    onServerRunning: { channel in
        // The test and benchmark scripts wait for this line, and read the port from it.
        let line = "sample-site listening on http://\(options.host):\(channel.localAddress?.port ?? options.port) (\(setup.summary))\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    },
    logger: logger
)
try await app.runService()
#else
import Foundation

FileHandle.standardError.write(Data("sample-site needs the HummingbirdAuth trait: swift run --traits HummingbirdAuth sample-site\n".utf8))
exit(2)
#endif

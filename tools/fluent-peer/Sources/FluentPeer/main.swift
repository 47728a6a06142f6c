// GET /, POST /cart and POST /login with Vapor's Fluent session driver on SQLite (the file in
// SESSION_DB, default ./fluent-peer.sqlite). GET /_writes tells how many session writes the
// driver got. Options: --port N (default 8083). `fluent-peer bench-postgres ...` measures
// Fluent's sessions on PostgreSQL instead (PostgresBench.swift).

import Fluent
import FluentSQLiteDriver
import Foundation
import SampleShop
import Vapor

if CommandLine.arguments.dropFirst().first == "bench-postgres" {
    try await runPostgresBench(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}

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

addShopRoutes(to: app)

app.get("_writes") { _ in "\(driver.counter.count)" }

try await app.execute()
try await app.asyncShutdown()

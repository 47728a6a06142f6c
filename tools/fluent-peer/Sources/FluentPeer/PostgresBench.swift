// `fluent-peer bench-postgres URL SECONDS [CONCURRENCY] [PAYLOAD-BYTES]`: Fluent's session driver
// on PostgreSQL (the `_fluent_sessions` table Vapor apps get from `app.sessions.use(.fluent)`),
// driven directly, as SessionsMiddleware drives it, so sessionbench can set the PostgreSQL
// store's rows beside it on the same server:
//
//   create   createSession, as a login or a first visit that stores something
//   load     readSession of a random existing session, as every request with a cookie
//   update   readSession then updateSession, as a request that changes the cart
//
// One line per workload on standard output:
//   ROW <workload> <concurrency> <operations> <seconds> <p50 µs> <p99 µs>

import Fluent
import FluentPostgresDriver
import Foundation
import Vapor

func runPostgresBench(_ arguments: [String]) async throws {
    guard arguments.count >= 2, let seconds = Double(arguments[1]) else {
        FileHandle.standardError.write(Data("usage: fluent-peer bench-postgres URL SECONDS [CONCURRENCY] [PAYLOAD-BYTES]\n".utf8))
        exit(2)
    }
    let concurrency = arguments.count > 2 ? Int(arguments[2]) ?? 64 : 64
    let payloadBytes = arguments.count > 3 ? Int(arguments[3]) ?? 256 : 256
    var environment = Environment.production
    environment.arguments = ["fluent-peer"]
    let app = try await Application.make(environment)
    app.logger.logLevel = .warning
    // As many connections as the PostgreSQL store's pool gets in sessionbench (64), spread over
    // the event loops as Fluent pools them.
    let loops = max(1, System.coreCount)
    try app.databases.use(.postgres(url: arguments[0], maxConnectionsPerEventLoop: max(1, 64 / loops)), as: .psql)
    app.migrations.add(SessionRecord.migration)
    try await app.autoMigrate()
    let driver = app.fluent.sessions.driver()
    let pad = String(repeating: "x", count: payloadBytes)

    @Sendable func request() -> Request {
        Request(application: app, on: app.eventLoopGroup.any())
    }

    /// Runs `body` from `concurrency` tasks for `seconds`, timing each call; returns what the calls returned.
    @discardableResult
    func measure<Value: Sendable>(_ workload: String, _ body: @escaping @Sendable (Int, Int) async throws -> Value) async throws -> [Value] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let started = ContinuousClock.now
        let (latencies, values) = try await withThrowingTaskGroup(of: ([Duration], [Value]).self) { group in
            for task in 0..<concurrency {
                group.addTask {
                    var mine: [Duration] = []
                    var values: [Value] = []
                    var iteration = 0
                    while ContinuousClock.now < deadline {
                        let start = ContinuousClock.now
                        values.append(try await body(task, iteration))
                        mine.append(ContinuousClock.now - start)
                        iteration += 1
                    }
                    return (mine, values)
                }
            }
            var all: ([Duration], [Value]) = ([], [])
            for try await part in group {
                all.0 += part.0
                all.1 += part.1
            }
            return (all.0.sorted(), all.1)
        }
        let elapsed = ContinuousClock.now - started
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return Double(value.components.seconds) * 1e6 + Double(value.components.attoseconds) / 1e12
        }
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("ROW \(workload) \(concurrency) \(latencies.count) \(elapsedSeconds) \(percentile(0.5)) \(percentile(0.99))")
        return values
    }

    let ids = try await measure("create") { _, _ in
        try await driver.createSession(SessionData(initialData: ["cart": "[]", "pad": pad]), for: request()).get()
    }
    guard !ids.isEmpty else { throw Abort(.internalServerError, reason: "no session was created") }
    try await measure("load") { task, iteration in
        let id = ids[(task &* 104_729 &+ iteration &* 7919) % ids.count]
        guard try await driver.readSession(id, for: request()).get() != nil else { throw Abort(.notFound, reason: "a session did not load") }
    }
    try await measure("update") { task, iteration in
        let id = ids[task % ids.count]
        let req = request()
        guard var data = try await driver.readSession(id, for: req).get() else { throw Abort(.notFound, reason: "a session did not load") }
        data["cart"] = "[\(iteration)]"
        _ = try await driver.updateSession(id, to: data, for: req).get()
    }
    try await app.asyncShutdown()
}

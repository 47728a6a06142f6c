import Foundation
import Sessions

/// The simulated service behind `sessionctl demo`: users, their devices, and what they do each minute.
final class DemoSimulation {
    private struct User: Sendable {
        let id: String
        var devices: [SessionToken] = []
        var cartItems = 0
    }

    private let store: any SessionStoreAdministration & SessionMessageLog
    private let clock: ManualSessionClock
    private var shards: [[User]]
    private var generators: [SplitMix64]
    private(set) var totals = DemoTotals()

    private static let agents = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "curl/8.5.0",
    ]

    init(store: any SessionStoreAdministration & SessionMessageLog, clock: ManualSessionClock, users: Int, workers: Int, seed: UInt64) {
        self.store = store
        self.clock = clock
        let workers = min(workers, users)
        var shards = Array(repeating: [User](), count: workers)
        for index in 0..<users {
            shards[index % workers].append(User(id: String(format: "user-%05d", index + 1)))
        }
        self.shards = shards
        self.generators = (0..<workers).map { SplitMix64(seed: seed &+ UInt64($0) &* 0x9E37_79B9) }
    }

    /// Runs one simulated minute: every worker serves its users concurrently.
    func simulateMinute() async throws {
        let store = self.store
        let results = try await withThrowingTaskGroup(of: (Int, [User], SplitMix64, DemoTotals).self) { group in
            for (index, shard) in shards.enumerated() {
                let generator = generators[index]
                group.addTask {
                    var users = shard
                    var generator = generator
                    var totals = DemoTotals()
                    for userIndex in users.indices where generator.chance(0.12) {
                        try await Self.visit(&users[userIndex], store: store, generator: &generator, totals: &totals)
                    }
                    if generator.chance(0.6) {
                        try await Self.anonymousVisit(store: store, generator: &generator, totals: &totals)
                    }
                    return (index, users, generator, totals)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for (index, users, generator, totals) in results {
            shards[index] = users
            generators[index] = generator
            self.totals = self.totals + totals
        }
    }

    /// Deletes what has expired, as a service's sweeper would.
    func purge() async throws {
        totals.purged += try await store.purgeExpired(limit: 1_000_000)
        totals.requests += 1
    }

    private static func client(_ generator: inout SplitMix64) -> SessionClient {
        SessionClient(
            ip: "198.51.100.\(Int.random(in: 1...254, using: &generator))",
            userAgent: agents.randomElement(using: &generator)
        )
    }

    private static func login(_ user: inout User, store: any SessionStoreAdministration & SessionMessageLog, generator: inout SplitMix64, totals: inout DemoTotals) async throws {
        let rememberMe = generator.chance(0.1)
        let issued = try await store.create(
            userID: user.id,
            data: Data(#"{"cart":[],"theme":"light"}"#.utf8),
            metadata: ["login": generator.chance(0.7) ? "password" : "passkey", "remember_me": rememberMe ? "yes" : "no"],
            expiration: rememberMe ? .absolute(.seconds(30 * 24 * 3600)) : nil,
            client: client(&generator)
        )
        user.devices.append(issued.token)
        user.cartItems = 0
        totals.logins += 1
        totals.requests += 1
    }

    private static func visit(_ user: inout User, store: any SessionStoreAdministration & SessionMessageLog, generator: inout SplitMix64, totals: inout DemoTotals) async throws {
        if user.devices.isEmpty || (user.devices.count < 2 && generator.chance(0.03)) {
            try await login(&user, store: store, generator: &generator, totals: &totals)
        }
        let device = Int.random(in: 0..<user.devices.count, using: &generator)
        let token = user.devices[device]
        let client = client(&generator)
        var session: Session?
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            session = try await store.load(token, client: client)
            totals.pageViews += 1
            totals.requests += 1
            if session == nil { break }
        }
        guard var session else {
            user.devices.remove(at: device)
            totals.reloginsAfterExpiry += 1
            try await login(&user, store: store, generator: &generator, totals: &totals)
            return
        }
        if generator.chance(0.25) {
            user.cartItems += 1
            let items = (1...user.cartItems).map { "\"sku-\($0)\"" }.joined(separator: ",")
            session.data = Data(#"{"cart":[\#(items)],"theme":"light"}"#.utf8)
            totals.cartUpdates += 1
            totals.requests += 1
            do {
                _ = try await store.save(session, expectedVersion: session.version)
            } catch let error as SessionStoreError where error.code == .notFound || error.code == .conflict {
                // Revoked or changed by someone else meanwhile (sessionctl in another terminal):
                // a real service would send the user to log in again.
                user.devices.remove(at: device)
                return
            }
        }
        if generator.chance(0.02), let rotated = try await store.rotate(token) {
            user.devices[device] = rotated.token
            totals.rotations += 1
            totals.requests += 1
        } else if generator.chance(0.04) {
            _ = try await store.delete(token)
            user.devices.remove(at: device)
            totals.logouts += 1
            totals.requests += 1
        } else if generator.chance(0.003) {
            _ = try await store.deleteSessions(forUser: user.id)
            user.devices.removeAll()
            totals.logoutsEverywhere += 1
            totals.requests += 1
        }
    }

    private static func anonymousVisit(store: any SessionStoreAdministration & SessionMessageLog, generator: inout SplitMix64, totals: inout DemoTotals) async throws {
        let issued = try await store.create(
            data: Data(#"{"landing":"/pricing"}"#.utf8),
            expiration: .idle(.seconds(10 * 60)),
            client: client(&generator)
        )
        _ = try await store.load(issued.token)
        totals.anonymous += 1
        totals.requests += 2
        totals.pageViews += 1
    }
}

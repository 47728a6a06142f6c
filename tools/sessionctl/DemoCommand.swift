import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `--durability full|normal`.
enum DurabilityOption: String, CaseIterable, ExpressibleByArgument {
    case full
    case normal

    var durability: SQLiteSessionStore.Durability {
        switch self {
        case .full: .full
        case .normal: .normal
        }
    }
}

/// `sessionctl demo`: a web service's session traffic, simulated on a local file.
///
/// Simulated time runs from `--minutes` ago up to now, one simulated minute per step, so sessions
/// expire during the run and what is left is exactly what the `active_sessions` view shows.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Simulate a web service's session traffic on a local database.",
        discussion: """
            Users log in (some on two devices), browse, fill carts, get their session rotated, log out or \
            log out everywhere; anonymous visitors come and go and their sessions expire; expired \
            sessions are purged. Then the command prints what happened and how to look inside with sqlite3.
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: KeyOptions

    @Option(help: "Simulated users.")
    var users = 3000

    @Option(help: "Simulated minutes of traffic, ending now.")
    var minutes = 180

    @Option(help: "Concurrent request workers.")
    var workers = 32

    @Option(help: "Durability of commits: full or normal.")
    var durability: DurabilityOption = .full

    @Option(help: "Seed of the simulation's random choices.")
    var seed: UInt64 = 2026

    @Flag(help: "Delete the database first.")
    var reset = false

    @Flag(help: "After the simulated minutes, keep the traffic going in real time until Ctrl-C, to watch it with sessionctl or sqlite3.")
    var live = false

    func validate() throws {
        guard users > 0, minutes > 0, workers > 0 else {
            throw ValidationError("--users, --minutes and --workers must be positive")
        }
    }

    func run() async throws {
        if reset {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: options.path + suffix) }
        }
        let end = SystemSessionClock().now
        let clock = ManualSessionClock(end - .seconds(Int64(minutes) * 60))
        // The simulated service seals what it stores when given keys, as the library does.
        let store = try options.open(policy: SessionPolicy(encryption: try keys.encryption(), clock: clock), durability: durability.durability, create: true)
        // A second run on the same file continues its history instead of writing entries older
        // than the first run's: it starts after the newest change, with minutes as short as that takes.
        var minuteLength = Duration.seconds(60)
        if let newest = try await store.changeLogSummary().newestAt, newest >= clock.now {
            let start = newest + .milliseconds(1)
            clock.set(start)
            minuteLength = max(.milliseconds(1), (end - start) / minutes)
            print("\(options.path) already holds traffic up to \(newest): the \(minutes) simulated minutes last \(Format.duration(minuteLength)) each")
        }
        let simulation = DemoSimulation(store: store, clock: clock, users: users, workers: workers, seed: seed)
        let progress = ProgressReporter(total: minutes, on: .standardOutput, plainTenths: true)
        let started = ContinuousClock.now

        for minute in 1...minutes {
            try await simulation.simulateMinute()
            if minute % 15 == 0 || minute == minutes {
                try await simulation.purge()
            }
            clock.advance(by: minuteLength)
            let elapsed = ContinuousClock.now - started
            progress.update(
                done: minute,
                text: "minute \(minute)/\(minutes) | \(Format.count(simulation.totals.requests)) requests "
                    + "(\(Format.rate(Double(simulation.totals.requests) / elapsed.seconds))/s) | "
                    + "\(Format.count(simulation.totals.logins)) logins | \(Format.count(simulation.totals.logouts)) logouts"
            )
        }
        progress.finish()
        if live {
            // From now on the simulation runs on the real clock, so every other tool agrees on
            // which sessions are alive.
            print("live: traffic continues in real time; Ctrl-C to stop")
            let interruption = Interruption()
            var minute = 0
            while !interruption.requested {
                clock.set(SystemSessionClock().now)
                try await simulation.simulateMinute()
                minute += 1
                if minute % 50 == 0 { try await simulation.purge() }
            }
        }
        let elapsed = ContinuousClock.now - started
        let stats = try await store.stats()
        let info = try await store.databaseInfo()
        try await store.close()
        printSummary(simulation.totals, stats: stats, info: info, elapsed: elapsed)
    }

    private func printSummary(_ totals: DemoTotals, stats: SessionStoreStats, info: SQLiteDatabaseInfo, elapsed: Duration) {
        let writes = stats.writes ?? WriteStats()
        let perCommit = writes.transactions == 0 ? 0 : Double(writes.operations) / Double(writes.transactions)
        let path = options.path
        let quoted = path.contains(" ") ? "'\(path)'" : path
        print("""
            Simulated \(minutes) minutes of traffic for \(Format.count(users)) users in \(Format.duration(elapsed)) \
            (\(workers) workers, durability \(durability.rawValue))
              requests      \(Format.count(totals.requests)) (\(Format.rate(Double(totals.requests) / elapsed.seconds))/s)
              page views    \(Format.count(totals.pageViews))
              logins        \(Format.count(totals.logins)) (\(Format.count(totals.reloginsAfterExpiry)) after the session had expired)
              cart updates  \(Format.count(totals.cartUpdates))
              rotations     \(Format.count(totals.rotations))
              logouts       \(Format.count(totals.logouts)), everywhere: \(Format.count(totals.logoutsEverywhere))
              anonymous     \(Format.count(totals.anonymous)) visitors
              purged        \(Format.count(totals.purged)) expired sessions
            Store \(path)
              sessions      \(Format.count(stats.active)) active, \(Format.count(stats.expired)) expired not yet purged, \
            \(Format.count(stats.users)) users logged in
              writes        \(Format.count(writes.operations)) in \(Format.count(writes.transactions)) transactions \
            (\(String(format: "%.1f", perCommit)) per commit)
              touches       \(Format.count(writes.touchesPersisted)) persisted, \(Format.count(writes.touchesSkipped)) skipped
              file          \(Format.bytes(info.fileSize)) + \(Format.bytes(info.walSize)) WAL, schema version \(info.schemaVersion)

            Look inside with sqlite3:
              sqlite3 \(quoted) 'SELECT count(*) FROM active_sessions'
              sqlite3 -box \(quoted) 'SELECT user_id, sessions, last_seen_at FROM sessions_by_user ORDER BY sessions DESC LIMIT 5'
              sqlite3 -box \(quoted) 'SELECT seq, at, kind, user_id FROM recent_changes LIMIT 10'
              sqlite3 -box \(quoted) 'SELECT kind, count(*) FROM session_changes GROUP BY kind'
            or: sessionctl stats --db \(quoted)
            """)
    }
}

/// What the simulation did, summed over workers.
struct DemoTotals: Sendable {
    var requests = 0
    var pageViews = 0
    var logins = 0
    var reloginsAfterExpiry = 0
    var cartUpdates = 0
    var rotations = 0
    var logouts = 0
    var logoutsEverywhere = 0
    var anonymous = 0
    var purged = 0

    static func + (lhs: DemoTotals, rhs: DemoTotals) -> DemoTotals {
        DemoTotals(
            requests: lhs.requests + rhs.requests,
            pageViews: lhs.pageViews + rhs.pageViews,
            logins: lhs.logins + rhs.logins,
            reloginsAfterExpiry: lhs.reloginsAfterExpiry + rhs.reloginsAfterExpiry,
            cartUpdates: lhs.cartUpdates + rhs.cartUpdates,
            rotations: lhs.rotations + rhs.rotations,
            logouts: lhs.logouts + rhs.logouts,
            logoutsEverywhere: lhs.logoutsEverywhere + rhs.logoutsEverywhere,
            anonymous: lhs.anonymous + rhs.anonymous,
            purged: lhs.purged + rhs.purged
        )
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

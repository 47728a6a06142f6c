import ArgumentParser
import Foundation
import Sessions
#if Postgres
import PostgresSessions
#endif
import SQLiteSessions

/// `sessionctl stats`: how many sessions, whose, how old, how big the file is.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show session totals, users, age and time-to-live distributions, and database figures.",
        discussion: """
            A running service's cache figures live in that process (its stats() and metrics); this \
            command shows what the file (or, with --postgres, the database) holds.
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: RefusedKeyOptions

    @Option(help: "How many of the users with the most sessions to show.")
    var top = 10

    static let ageBoundaries: [(String, Duration)] = [
        ("< 1m", .seconds(60)), ("< 10m", .seconds(600)), ("< 1h", .seconds(3600)),
        ("< 1d", .seconds(86_400)), ("< 7d", .seconds(604_800)),
    ]
    static let ttlBoundaries: [(String, Duration)] = [
        ("< 1m", .seconds(60)), ("< 10m", .seconds(600)), ("< 1h", .seconds(3600)), ("< 1d", .seconds(86_400)),
    ]

    struct Report: Codable {
        var total: Int
        var active: Int
        var expired: Int
        var users: Int
        var averageAgeSeconds: Double?
        var topUsers: [UserSessionCount]
        var age: [Bucket]
        var timeToLive: [Bucket]
        /// The SQLite file's figures.
        var database: SQLiteDatabaseInfo?
        #if Postgres
        /// The PostgreSQL server's and tables' figures.
        var postgres: PostgresDatabaseInfo?
        #endif
        var changeLog: ChangeLogSummary
        var replication: [Cursor]
    }

    struct Bucket: Codable {
        var range: String
        var sessions: Int
    }

    struct Cursor: Codable {
        var name: String
        var position: Int64
        var behind: Int64
    }

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top cannot be negative") }
    }

    func run() async throws {
        let store = try await options.openInspected()
        let stats = try await store.stats()
        let users = try await store.topUsers(limit: top)
        let ages = try await store.distribution(of: .age, boundaries: Self.ageBoundaries.map(\.1))
        let ttls = try await store.distribution(of: .timeToLive, boundaries: Self.ttlBoundaries.map(\.1))
        let changeLog = try await store.changeLogSummary()
        let file = try await (store as? SQLiteSessionStore)?.databaseInfo()
        #if Postgres
        let server = try await (store as? PostgresSessionStore)?.databaseInfo()
        #endif
        try await store.close()

        let age = zip(Self.ageBoundaries.map(\.0) + ["≥ 7d"], ages).map { Bucket(range: $0, sessions: $1) }
        let ttl = zip(Self.ttlBoundaries.map(\.0) + ["≥ 1d"], ttls).map { Bucket(range: $0, sessions: $1) }
        let cursors = (file?.cursors ?? [:]).sorted { $0.key < $1.key }.map {
            Cursor(name: $0.key, position: $0.value, behind: (file?.lastChangeSequence ?? 0) - $0.value)
        }
        var report = Report(
            total: stats.total,
            active: stats.active,
            expired: stats.expired,
            users: stats.users,
            averageAgeSeconds: stats.averageAge.map { Double($0.wholeMilliseconds) / 1000 },
            topUsers: users,
            age: age,
            timeToLive: ttl,
            database: file,
            changeLog: changeLog,
            replication: cursors
        )
        #if Postgres
        report.postgres = server
        #endif
        if options.json {
            try printJSON(report)
            return
        }
        print("""
            Sessions in \(store.location)
              total           \(Format.count(stats.total))
              active          \(Format.count(stats.active))
              expired         \(Format.count(stats.expired)) (not purged yet)
              users           \(Format.count(stats.users)) with an active session
              average age     \(stats.averageAge.map(Format.duration) ?? "-")
            """)
        if !users.isEmpty {
            print("Most sessions per user")
            var table = TextTable(["  user", "sessions"], rightAligned: [1])
            for user in users { table.append(["  " + Format.clip(user.userID, 40), Format.count(user.sessions)]) }
            print(table.render())
        }
        print("Age of active sessions")
        print(TextHistogram.render(age.map { ($0.range, $0.sessions) }))
        print("Time left")
        print(TextHistogram.render(ttl.map { ($0.range, $0.sessions) }))
        if let info = file {
            print("""
                Database
                  schema version  \(info.schemaVersion) (library knows \(info.latestSchemaVersion))
                  file            \(Format.bytes(info.fileSize)) (\(Format.count(info.pageCount)) pages of \(info.pageSize) B, \(Format.count(info.freePages)) free)
                  write-ahead log \(Format.bytes(info.walSize))
                """)
        }
        #if Postgres
        if let info = server {
            print("""
                Database
                  server          PostgreSQL \(info.serverVersion) at \(info.endpoint), database \(info.database), schema \(info.schema)
                  schema version  \(info.schemaVersion) (library knows \(info.latestSchemaVersion))
                """)
            var table = TextTable(["  table", "size", "live rows", "dead rows", "last vacuum"], rightAligned: [1, 2, 3])
            for figures in info.tables {
                table.append([
                    "  " + figures.name, Format.bytes(Int(figures.totalBytes)), Format.count(Int(figures.liveRows)),
                    Format.count(Int(figures.deadRows)), figures.lastVacuumAt?.description ?? "-",
                ])
            }
            print(table.render())
        }
        #endif
        print("""
            Change log
              entries         \(Format.count(changeLog.entries))\(changeLog.oldestSequence.map { " (#\($0) to #\(changeLog.newestSequence ?? $0))" } ?? "")
              kinds           \(changeLog.kinds.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: ", "))
            """)
        if !cursors.isEmpty {
            print("Replication")
            for cursor in cursors { print("  \(cursor.name): at #\(cursor.position), \(Format.count(cursor.behind)) changes behind") }
        }
    }
}

import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `sessionctl stats`: how many sessions, how old, how big the file is.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show session totals, users, and database figures."
    )

    @OptionGroup var options: StoreOptions

    struct Report: Codable {
        var total: Int
        var active: Int
        var expired: Int
        var users: Int
        var averageAgeSeconds: Double?
        var database: SQLiteDatabaseInfo
    }

    func run() async throws {
        let store = try options.open()
        let stats = try await store.stats()
        let info = try await store.databaseInfo()
        try await store.close()
        let report = Report(
            total: stats.total,
            active: stats.active,
            expired: stats.expired,
            users: stats.users,
            averageAgeSeconds: stats.averageAge.map { Double($0.wholeMilliseconds) / 1000 },
            database: info
        )
        if options.json {
            try printJSON(report)
            return
        }
        print("""
            Sessions in \(info.path)
              total           \(Format.count(stats.total))
              active          \(Format.count(stats.active))
              expired         \(Format.count(stats.expired)) (not purged yet)
              users           \(Format.count(stats.users)) with an active session
              average age     \(stats.averageAge.map(Format.duration) ?? "-")
            Database
              schema version  \(info.schemaVersion) (library knows \(info.latestSchemaVersion))
              file            \(Format.bytes(info.fileSize)) (\(Format.count(info.pageCount)) pages of \(info.pageSize) B, \(Format.count(info.freePages)) free)
              write-ahead log \(Format.bytes(info.walSize))
              change log      \(Format.count(info.changeLogEntries)) entries, last sequence \(info.lastChangeSequence)
            """)
        for (name, position) in info.cursors.sorted(by: { $0.key < $1.key }) {
            print("  cursor \(name): at \(position), \(info.lastChangeSequence - position) behind")
        }
    }
}

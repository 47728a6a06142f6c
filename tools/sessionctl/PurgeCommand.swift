import ArgumentParser
import Foundation
import Sessions

/// `sessionctl purge`: delete expired sessions in chunks.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete expired sessions, in short transactions, with progress.",
        discussion: "Safe to interrupt with Ctrl-C: the chunk in progress finishes and nothing else is touched."
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: RefusedKeyOptions

    @Flag(help: "Count what would be deleted and delete nothing.")
    var dryRun = false

    @Option(help: "Sessions deleted per transaction (at most 1000 are deleted per transaction in any case).")
    var batch = 1000

    struct Report: Codable {
        var expired: Int
        var purged: Int
        var dryRun: Bool
        var interrupted: Bool
        var seconds: Double
    }

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() async throws {
        let store = try await options.openInspected(writable: true)
        let expired = try await store.stats().expired
        if dryRun {
            try await store.close()
            try report(Report(expired: expired, purged: 0, dryRun: true, interrupted: false, seconds: 0), of: store.location)
            if expired == 0 { throw CtlExit.notFound }
            return
        }
        let interruption = Interruption()
        let progress = ProgressReporter(total: expired, on: .standardError)
        let started = ContinuousClock.now
        var purged = 0
        while !interruption.requested {
            let chunk = try await store.purgeExpired(limit: batch)
            purged += chunk
            progress.update(done: min(purged, expired), label: "purging")
            if chunk < batch { break }
        }
        progress.finish()
        try await store.close()
        try report(Report(
            expired: expired, purged: purged, dryRun: false, interrupted: interruption.requested,
            seconds: (ContinuousClock.now - started).seconds
        ), of: store.location)
        if purged == 0 { throw CtlExit.notFound }
    }

    private func report(_ report: Report, of location: String) throws {
        if options.json {
            try printJSON(report)
        } else if report.dryRun {
            print("\(Format.count(report.expired)) expired sessions would be purged from \(location)")
        } else {
            let rate = report.seconds > 0 ? Double(report.purged) / report.seconds : 0
            print("purged \(Format.count(report.purged)) expired sessions in \(Format.duration(.milliseconds(Int64(report.seconds * 1000)))) (\(Format.rate(rate))/s)\(report.interrupted ? ", interrupted" : "")")
        }
    }
}

import ArgumentParser
import Foundation

/// `sessionbench`: measures the session stores on this machine and prints a table.
@main
struct SessionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessionbench",
        abstract: "Measure the session stores on this machine.",
        discussion: "Build in release mode for meaningful figures: swift run -c release sessionbench"
    )

    @Flag(help: "Run every workload briefly (seconds in all); for smoke tests.")
    var quick = false

    @Flag(help: "Add 10M sessions to the scaling workloads (minutes, and a few GB of disk).")
    var large = false

    @Option(help: "Seconds per timed workload.")
    var seconds: Double?

    @Option(help: "Seconds per HTTP workload (wrk).")
    var httpSeconds: Int?

    @Option(help: "Sessions in the prefilled stores.")
    var sessions: Int?

    @Option(help: "Run only workloads whose name contains this text (create, load hit, load miss, raw, update, delete, purge, revoke, sliding, memory, encrypt, message, scaling, open, naive, limits, redis, replication, hosts, postgres, http, instrumentation).")
    var only: String?

    @Option(help: "Also write the results and goals as JSON to this file.")
    var json: String?

    func run() async throws {
        let options = BenchmarkOptions(
            duration: .milliseconds(Int64((seconds ?? (quick ? 0.2 : 3)) * 1000)),
            sessions: sessions ?? (quick ? 2000 : 100_000),
            only: only,
            purgeRows: quick ? 5000 : 100_000,
            memorySessions: quick ? 5000 : 100_000,
            scaleSizes: quick ? [2000, 20_000] : [10_000, 100_000, 1_000_000] + (large ? [10_000_000] : []),
            quick: quick,
            httpSeconds: httpSeconds ?? (quick ? 1 : 10)
        )
        let started = Date()
        emit("sessionbench: \(options.sessions) sessions, \(options.duration) per workload\(quick ? " (quick)" : ""), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(started.formatted(.iso8601))")
        var results: [BenchmarkResult] = []
        var skipped: [SkippedSection] = []
        // Each section runs on its own: one that cannot run here (no redis-server, web servers not
        // built) is skipped with its reason, and the table, the goals and the JSON still come out.
        let sections: [(name: String, run: (inout [BenchmarkResult]) async throws -> Void)] = [
            ("limits", { try await PeerWorkloads(options: options).limits(into: &$0) }),
            ("sqlite", { try await SQLiteWorkloads(options: options).run(into: &$0) }),
            ("cache", { try await CacheWorkloads(options: options).run(into: &$0) }),
            ("policy", { try await PolicyWorkloads(options: options).run(into: &$0) }),
            ("peers", { try await PeerWorkloads(options: options).run(into: &$0) }),
            ("redis", { try await RedisWorkloads(options: options).run(into: &$0) }),
            ("hosts", { try await SharingWorkloads(options: options).run(into: &$0) }),
            ("postgres", { try await PostgresWorkloads(options: options).run(into: &$0) }),
            ("scaling", { try await ScaleWorkloads(options: options).run(into: &$0) }),
            ("http", { try await HTTPWorkloads(options: options).run(into: &$0) }),
            ("instrumentation", { try await InstrumentationWorkloads(options: options).run(into: &$0) }),
        ]
        for section in sections {
            do {
                try await section.run(&results)
            } catch {
                let reason = (error as? SkippedWorkload)?.reason ?? "failed: \(error)"
                emit("  \(section.name): skipped: \(reason)")
                skipped.append(SkippedSection(section: section.name, reason: reason))
            }
        }
        let goals = Goals.check(results, options: options)
        emit()
        emit(ResultTable.render(results, goals: goals))
        emit()
        emit("Goals")
        emit(Goals.render(goals))
        if !skipped.isEmpty {
            emit()
            emit("Skipped")
            for section in skipped { emit("  \(section.section): \(section.reason)") }
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let report = BenchmarkReport(started: started, quick: quick, cores: ProcessInfo.processInfo.activeProcessorCount, results: results, goals: goals, skipped: skipped)
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// What `--json` writes.
struct BenchmarkReport: Codable {
    var started: Date
    var quick: Bool
    var cores: Int
    var results: [BenchmarkResult]
    var goals: [GoalCheck]
    var skipped: [SkippedSection]
}

/// A part of the benchmark that did not run, and why.
struct SkippedSection: Codable {
    var section: String
    var reason: String
}

/// Thrown by a workload that cannot run on this machine as it is; the reason says what would let it.
struct SkippedWorkload: Error, CustomStringConvertible {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}

/// Settings shared by every workload.
struct BenchmarkOptions: Sendable {
    var duration: Duration
    var sessions: Int
    var only: String?
    /// Expired rows the purge workload deletes.
    var purgeRows: Int
    /// Sessions cached by the memory workload, at each payload size.
    var memorySessions: Int
    /// Stored sessions of the scaling workloads, smallest first.
    var scaleSizes: [Int]
    /// A smoke run: brief workloads, nothing built.
    var quick: Bool
    /// Seconds per HTTP workload.
    var httpSeconds: Int
    /// A typical small session: about 200 bytes of JSON.
    var payload = Data(#"{"cart":["sku-1","sku-2","sku-3"],"theme":"dark","csrf":"3q2+7w8fXJ0kNw1yT2u5mA","flash":null,"locale":"en-GB","step":4,"ab":{"checkout":"B"}}"#.utf8)

    func includes(_ workload: String) -> Bool {
        guard let only else { return true }
        return workload.contains(only) || only.contains(workload)
    }

    func makeDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sessionbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func report(_ result: BenchmarkResult) {
        emit("  \(result.workload) \(result.store) c=\(result.concurrency) \(result.durability ?? ""): "
            + "\(ResultTable.format(result.opsPerSecond)) ops/s")
    }
}

/// Writes a line to standard output at once (unbuffered), so progress shows while the benchmark
/// runs, also when the output goes to a file.
func emit(_ text: String = "") {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

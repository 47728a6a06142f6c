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

    @Option(help: "Seconds per timed workload.")
    var seconds: Double?

    @Option(help: "Sessions in the prefilled stores.")
    var sessions: Int?

    @Option(help: "Run only workloads whose name contains this text.")
    var only: String?

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    func run() async throws {
        let options = BenchmarkOptions(
            duration: .milliseconds(Int64((seconds ?? (quick ? 0.2 : 3)) * 1000)),
            sessions: sessions ?? (quick ? 2000 : 100_000),
            only: only
        )
        print("sessionbench: \(options.sessions) sessions, \(options.duration) per workload\(quick ? " (quick)" : "")")
        var results: [BenchmarkResult] = []
        try await SQLiteWorkloads(options: options).run(into: &results)
        try await CacheWorkloads(options: options).run(into: &results)
        try await RedisWorkloads(options: options).run(into: &results)
        print()
        print(ResultTable.render(results))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(results).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// Settings shared by every workload.
struct BenchmarkOptions: Sendable {
    var duration: Duration
    var sessions: Int
    var only: String?
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
        print("  \(result.workload) \(result.store) c=\(result.concurrency) \(result.durability ?? ""): "
            + "\(ResultTable.format(result.opsPerSecond)) ops/s")
    }
}

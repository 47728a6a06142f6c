import Foundation
import SessionTestSupport
import Testing

/// `sessionbench --quick`: every workload runs and produces its row, and every goal is checked.
/// Speed itself is not asserted here (tests make no timing assertions); it lives in the
/// benchmark's own output.
@Suite("sessionbench smoke test")
struct SessionBenchSmokeTests {
    /// workload | store | concurrency | durability, as the JSON report keys them.
    static let expectedRows: Set<String> = [
        "fdatasync|limit|1|-", "dictionary lookup|limit|1|-",
        "create|sqlite|1|full", "create|sqlite|64|full", "create|sqlite|1|normal", "create|sqlite|64|normal",
        "update|sqlite|1|full", "update|sqlite|64|full",
        "load miss|sqlite|1|-", "load miss|sqlite|64|-", "load miss|raw statement|1|-",
        "delete|sqlite|64|full",
        "load hit (metrics+tracing off)|cached|1|-", "load hit (no-op backends bootstrapped)|cached|1|-",
        "create (metrics+tracing off)|sqlite|64|normal", "create (no-op backends bootstrapped)|sqlite|64|normal",
        "load hit|cached|1|-", "load hit|cached|64|-", "load hit, all cached|cached|1|-", "load hit from cookie|cached|1|-",
        "sliding reads|cached|1|-", "revoke user|sqlite|1|full", "revoke user|sqlite|64|full",
        "purge|sqlite|1|full", "load during purge|sqlite|1|-", "create before purge|sqlite|1|full", "create during purge|sqlite|1|full",
        "memory 200 B payload|cached|1|-", "memory 2000 B payload|cached|1|-",
        "create encrypted|sqlite|64|full", "load miss encrypted|sqlite|1|-",
        "append message|sqlite|1|full", "append message|sqlite|64|full",
        "create|naive sqlite|1|full", "create|naive sqlite|64|full", "create|naive sqlite|64|normal",
        "load miss|naive sqlite|1|-", "load miss|naive sqlite|64|-", "update|naive sqlite|64|full", "delete|naive sqlite|64|full",
        "create|redis aof=always|1|-", "create|redis aof=always|64|-", "load|redis aof=always|1|-", "load|redis aof=always|64|-",
        "save|redis aof=always|1|-", "save|redis aof=always|64|-",
        "redis-benchmark GET|redis aof=always|1|-", "redis-benchmark GET|redis aof=always|64|-",
        "redis-benchmark EVALSHA|redis aof=always|1|-", "redis-benchmark EVALSHA|redis aof=always|64|-",
        "create|redis aof=everysec|1|-", "create|redis aof=everysec|64|-", "load|redis aof=everysec|1|-", "load|redis aof=everysec|64|-",
        "save|redis aof=everysec|1|-", "save|redis aof=everysec|64|-",
        "redis-benchmark GET|redis aof=everysec|1|-", "redis-benchmark GET|redis aof=everysec|64|-",
        "redis-benchmark EVALSHA|redis aof=everysec|1|-", "redis-benchmark EVALSHA|redis aof=everysec|64|-",
        "replication lag|sqlite→redis|8|-", "replication catch-up|sqlite→redis|1|-",
        "revocation across hosts|sqlite+redis stream|1|-", "update across hosts|sqlite+redis stream|1|-",
        "host load hit|cached, stream off|1|-", "host load hit|cached, stream on|1|-",
        "host create|replication alone|64|full", "host create|stream on|64|full",
        "catch-up after an outage|sqlite+redis stream|1|-", "converged after a Redis outage|sqlite+redis stream|2|-",
        "create|postgres|1|-", "create|postgres|64|-", "load miss|postgres|1|-", "load miss|postgres|64|-",
        "load hit|postgres + cache|1|-", "update|postgres|64|-", "cart update|postgres + cache|64|-", "purge|postgres|1|-", "revocation across hosts|postgres + cache|1|-",
        "create|naive postgres|64|-", "load|naive postgres|64|-", "pgbench SELECT 1|postgres|1|-", "pgbench SELECT 1|postgres|64|-",
        "postgres-nio SELECT 1|postgres|1|-", "postgres-nio SELECT 1|postgres|64|-",
        "scaling 2k load miss|sqlite|1|-", "scaling 2k load hit|cached|1|-", "scaling 2k create|sqlite|64|full",
        "scaling 20k load miss|sqlite|1|-", "scaling 20k load hit|cached|1|-", "scaling 20k create|sqlite|64|full",
        "open + first load|cached|1|-",
        "http page view|hummingbird + sqlite|32|full", "http cart update|hummingbird + sqlite|32|full", "http login|hummingbird + sqlite|32|full",
        "http page view|hummingbird-auth memory|32|-", "http cart update|hummingbird-auth memory|32|-", "http login|hummingbird-auth memory|32|-",
        "http page view|vapor + sqlite|32|full", "http cart update|vapor + sqlite|32|full", "http login|vapor + sqlite|32|full",
        "http page view|vapor memory|32|-", "http cart update|vapor memory|32|-", "http login|vapor memory|32|-",
    ]

    @Test func quickModeProducesEveryRowAndChecksEveryGoal() throws {
        let bench = try product("sessionbench")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = directory.appendingPathComponent("bench.json")
        let result = try run(bench, ["--quick", "--json", report.path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("Goals"))

        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        let rows = try #require(object["results"] as? [[String: Any]])
        let keys = Set(rows.map { row in
            "\(row["workload"] ?? "")|\(row["store"] ?? "")|\(row["concurrency"] ?? "")|\(row["durability"] as? String ?? "-")"
        })
        #expect(Self.expectedRows.subtracting(keys).isEmpty, "missing rows: \(Self.expectedRows.subtracting(keys).sorted())")
        for row in rows {
            #expect((row["operations"] as? Int ?? 0) > 0, "\(row["workload"] ?? "") \(row["store"] ?? "") ran no operations")
        }
        let goals = try #require(object["goals"] as? [[String: Any]])
        #expect(goals.count == 42)
        for goal in goals {
            // The Fluent peer is a package of its own, built only by a full run.
            if (goal["goal"] as? String)?.contains("Fluent") == true { continue }
            #expect(goal["met"] is Bool, "goal \(goal["goal"] ?? "") was not evaluated: \(goal["measured"] ?? "")")
        }
    }
}

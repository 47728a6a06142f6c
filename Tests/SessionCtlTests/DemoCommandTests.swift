import Foundation
import SessionTestSupport
import Testing

@Suite("sessionctl demo and stats")
struct DemoCommandTests {
    @Test func demoLeavesADatabaseThatSqlite3AndStatsAgreeOn() throws {
        let sessionctl = try product("sessionctl")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("demo.sqlite").path

        let demo = try run(sessionctl, ["demo", "--db", path, "--users", "200", "--minutes", "40", "--durability", "normal"])
        #expect(demo.status == 0, "\(demo.standardError)")
        #expect(demo.standardOutput.contains("Simulated 40 minutes of traffic for 200 users"))
        #expect(demo.standardOutput.contains("sqlite3 \(path) 'SELECT count(*) FROM active_sessions'"))

        let counted = try sqlite3(path, "SELECT count(*) FROM active_sessions;")
        let active = try #require(Int(counted.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(active > 0)

        let stats = try run(sessionctl, ["stats", "--db", path, "--json"])
        #expect(stats.status == 0, "\(stats.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any]
        #expect(report?["active"] as? Int == active)
        #expect((report?["database"] as? [String: Any])?["schemaVersion"] as? Int == 3)
        #expect(try run(sessionctl, ["stats", "--db", path]).standardOutput.contains("active"))
    }

    @Test func statsOnAMissingFileExitsOneAndUsageErrorsExitTwo() throws {
        let sessionctl = try product("sessionctl")
        let missing = try run(sessionctl, ["stats", "--db", "/nonexistent/\(UUID().uuidString).sqlite"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("no session database"))
        #expect(try run(sessionctl, ["stats", "--no-such-flag"]).status == 2)
        #expect(try run(sessionctl, ["demo", "--users", "0"]).status == 2)
    }
}

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
        #expect((report?["database"] as? [String: Any])?["schemaVersion"] as? Int == 4)
        #expect(try run(sessionctl, ["stats", "--db", path]).standardOutput.contains("active"))
    }

    @Test func twoDemoRunsOnOneFileLeaveAHistoryThatVerifies() throws {
        let sessionctl = try product("sessionctl")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("demo.sqlite").path
        let arguments = ["demo", "--db", path, "--users", "150", "--minutes", "30", "--durability", "normal"]
        let first = try run(sessionctl, arguments)
        #expect(first.status == 0, "\(first.standardError)")
        let second = try run(sessionctl, arguments)
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardOutput.contains("already holds traffic up to"))

        // The second run's history follows the first's: no entry is older than the one before it.
        let backwards = try sqlite3(path, "SELECT count(*) FROM (SELECT at, lag(at) OVER (ORDER BY seq) AS previous FROM session_changes) WHERE at < previous;")
        #expect(backwards.standardOutput == "0\n")
        let verify = try run(sessionctl, ["verify", "--db", path])
        #expect(verify.status == 0, "\(verify.standardOutput)")
        #expect(!verify.standardOutput.contains("note:"))
    }

    @Test func verifyCallsAClockThatSteppedBackANoteNotAProblem() throws {
        let sessionctl = try product("sessionctl")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("demo.sqlite").path
        #expect(try run(sessionctl, ["demo", "--db", path, "--users", "50", "--minutes", "10"]).status == 0)
        // A writer whose clock NTP stepped back an hour: the newest entry is older than the one before.
        _ = try sqlite3(path, "UPDATE session_changes SET at = at - 3600000 WHERE seq = (SELECT max(seq) FROM session_changes);")
        let verify = try run(sessionctl, ["verify", "--db", path])
        #expect(verify.status == 0, "\(verify.standardOutput)")
        #expect(verify.standardOutput.contains("note: 1 change-log entry is more than a second older than the entry before"))
        let json = try run(sessionctl, ["verify", "--db", path, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        #expect(report?["ok"] as? Bool == true)
        #expect((report?["notes"] as? [String])?.count == 1)
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

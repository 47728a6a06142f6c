import ChildProcesses
import Foundation
import SessionTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every command against a file a running demo process is writing to.
@Suite("sessionctl on a database in use")
struct LiveDatabaseTests {
    @Test func everyCommandWorksWhileAnotherProcessWrites() async throws {
        let sessionctl = try product("sessionctl")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("live.sqlite").path

        let demo = try ChildProcess(sessionctl, ["demo", "--db", path, "--users", "400", "--minutes", "5", "--live", "--durability", "normal"])
        defer {
            demo.signal(SIGKILL)
            _ = demo.wait()
        }
        // Wait until the demo has sessions to work on.
        for _ in 0..<300 {
            if let count = Int(try sqlite3(path, ".timeout 2000\nSELECT count(*) FROM sessions;").standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)),
                count > 50
            {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }

        func ctl(_ arguments: [String]) throws -> ProcessResult {
            let result = try run(sessionctl, arguments + ["--db", path])
            #expect([0, 1].contains(result.status), "\(arguments): exit \(result.status): \(result.standardError)")
            #expect(!result.standardError.localizedCaseInsensitiveContains("locked"), "\(arguments): \(result.standardError)")
            return result
        }
        func json(_ arguments: [String]) throws -> Any? {
            let result = try ctl(arguments + ["--json"])
            return try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        }

        for round in 0..<3 {
            #expect(try json(["stats"]) is [String: Any], "round \(round)")
            let list = try json(["list", "--limit", "5"]) as? [String: Any]
            let first = ((list?["sessions"] as? [[String: Any]])?.first?["tokenHash"] as? String).map { String($0.prefix(16)) }
            if let first {
                _ = try json(["show", first])
                _ = try json(["revoke", first])
            }
            #expect(try json(["verify"]) as? [String: Any] != nil)
            _ = try json(["purge"])
            let export = try ctl(["export"])
            #expect(!export.standardOutput.isEmpty)
            let file = directory.appendingPathComponent("export-\(round).jsonl")
            try Data(export.standardOutput.utf8).write(to: file)
            _ = try json(["import", file.path])
            _ = try json(["migrate"])
            _ = try json(["checkpoint"])
            _ = try json(["vacuum"])
        }
        #expect(demo.isRunning, "the demo kept running through all of it")
    }
}

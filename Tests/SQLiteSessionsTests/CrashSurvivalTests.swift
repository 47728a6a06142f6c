import ChildProcesses
import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A writer process is killed with SIGKILL at random moments; every write it reported as
/// acknowledged must be in the file afterwards, exactly, and the file must pass integrity_check.
@Suite("Crash survival")
struct CrashSurvivalTests {
    /// What the writer acknowledged for one token.
    struct Acknowledged {
        var created: Data
        var updated: Data?
    }

    @Test func acknowledgedWritesSurviveSIGKILL() async throws {
        let writer = try product("session-test-peer")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("crash.sqlite").path
        var acknowledged: [String: Acknowledged] = [:]
        var generator = SystemRandomNumberGenerator()
        var killedMidStream = 0

        for cycle in 0..<20 {
            let durability = cycle.isMultiple(of: 2) ? "full" : "normal"
            let process = try ChildProcess(writer, ["write-forever", path, durability, "8"], standardOutput: .pipe)
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...400, using: &generator)))
            process.signal(SIGKILL)
            #expect(await process.exit() == .signalled(SIGKILL), "cycle \(cycle): the writer exited on its own")

            let text = String(decoding: try process.collectOutput().output, as: UTF8.self)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last?.isEmpty == false { killedMidStream += 1 }
            lines.removeLast()  // empty after the final newline, or a line cut off by the kill
            for line in lines {
                let fields = line.split(separator: " ")
                guard fields.count == 3, let data = Data(base64Encoded: String(fields[2])) else {
                    Issue.record("cycle \(cycle): unreadable line \(line)")
                    continue
                }
                let token = String(fields[1])
                if fields[0] == "C" {
                    acknowledged[token] = Acknowledged(created: data)
                } else {
                    acknowledged[token]?.updated = data
                }
            }

            let integrity = try sqlite3(path, "PRAGMA integrity_check;")
            #expect(integrity.standardOutput == "ok\n", "cycle \(cycle): \(integrity.standardOutput)\(integrity.standardError)")
        }
        #expect(acknowledged.count > 100, "the writer acknowledged too little to prove anything")

        let store = try SQLiteSessionStore(path: path)
        var missing = 0
        for (text, expected) in acknowledged {
            let token = try SessionToken(text)
            guard let session = try await store.load(token) else {
                missing += 1
                continue
            }
            if let updated = expected.updated {
                #expect(session.data == updated)
            } else {
                // A save that committed but was killed before it said so is allowed to be there.
                #expect(session.data == expected.created || session.version == 2)
            }
        }
        #expect(missing == 0, "\(missing) of \(acknowledged.count) acknowledged sessions were lost")
        try await store.close()
    }
}

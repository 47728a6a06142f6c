import Foundation
import SessionTestSupport
import Testing

/// The sqlite3 recipes of the article "Inspecting and maintaining a session file"
/// (`SQLiteSessions.docc`): every query, run on the database the demo leaves behind, prints
/// exactly what the article shows.
@Suite("Documentation: sqlite3 queries")
struct ReadmeQueriesTests {
    struct Example {
        var options: [String]
        var query: String
        var expected: String
    }

    static func examples() throws -> [Example] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let article = try String(
            contentsOf: root.appendingPathComponent("Sources/SQLiteSessions/SQLiteSessions.docc/InspectingAndMaintaining.md"), encoding: .utf8
        )
        var examples: [Example] = []
        var current: Example?
        for line in article.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("$ sqlite3 ") {
                let words = line.dropFirst(2).split(separator: " ", maxSplits: 3)
                // $ sqlite3 -box sessions.sqlite "QUERY"
                guard words.count == 4, let open = line.firstIndex(of: "\""), let close = line.lastIndex(of: "\""), open < close else { continue }
                current = Example(options: [String(words[1])], query: String(line[line.index(after: open)..<close]), expected: "")
            } else if line.hasPrefix("```") {
                if let example = current { examples.append(example) }
                current = nil
            } else if current != nil {
                current!.expected += line + "\n"
            }
        }
        return examples
    }

    @Test func everyQueryPrintsWhatTheReadmeShows() throws {
        let examples = try Self.examples()
        #expect((6...10).contains(examples.count), "the article shows \(examples.count) queries")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sessions.sqlite").path
        let demo = try run(product("sessionctl"), ["demo", "--db", path])
        #expect(demo.status == 0, "\(demo.standardError)")
        for example in examples {
            let result = try run("sqlite3", example.options + [path, example.query])
            #expect(result.status == 0, "\(example.query): \(result.standardError)")
            #expect(!result.standardOutput.isEmpty, "\(example.query)")
            #expect(result.standardOutput == example.expected, "\(example.query)")
        }
    }
}

import Foundation
import SessionTestSupport
import Testing

/// The README's "Inspecting with sqlite3" section: every query, run on the database the demo
/// leaves behind, prints exactly what the README shows.
@Suite("README sqlite3 queries")
struct ReadmeQueriesTests {
    struct Example {
        var options: [String]
        var query: String
        var expected: String
    }

    static func examples() throws -> [Example] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "## Inspecting with sqlite3"),
            let end = readme.range(of: "\n## ", range: start.upperBound..<readme.endIndex)
        else { return [] }
        var examples: [Example] = []
        var current: Example?
        for line in readme[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false) {
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
        #expect((6...10).contains(examples.count), "the README shows \(examples.count) queries")
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

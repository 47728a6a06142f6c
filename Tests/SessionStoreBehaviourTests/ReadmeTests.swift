import Foundation
import SessionTestSupport
import Testing

@Suite("README")
struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theGettingStartedArticleIsTheCodeThatCompilesAndRunsHere() async throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("Sources/Sessions/Sessions.docc/GettingStarted.md"), encoding: .utf8)
        let source = try String(
            contentsOf: Self.root.appendingPathComponent("Tests/SessionStoreBehaviourTests/QuickStartExample.swift"),
            encoding: .utf8
        )
        let example = try #require(Self.between("// README quick start: begin (the listing of Sessions.docc/GettingStarted.md)\n", "// README quick start: end", in: source))
        let block = try #require(
            Self.between("```swift\nimport Foundation\n", "```", in: readme),
            "the getting-started article has no quick-start block"
        )
        #expect("import Foundation\n" + block == example)

        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await quickStart(databasePath: directory.appendingPathComponent("sessions.sqlite").path)
    }

    @Test func theReadmeNamesTheTwoSetUpCommandsAndCIRunsTheTestOne() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("tools/setup && swift run -c release sessionctl demo"))
        #expect(readme.contains("\ntools/test\n"))
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        #expect(ci.contains("exec tools/test"))
    }

    static func between(_ start: String, _ end: String, in text: String) -> String? {
        guard let from = text.range(of: start), let to = text.range(of: end, range: from.upperBound..<text.endIndex) else {
            return nil
        }
        return String(text[from.upperBound..<to.lowerBound])
    }
}

#if Vapor
import Foundation
import Sessions
import SessionTestSupport
import Testing
import Vapor
import VaporTesting

@Suite("Documentation: Vapor")
struct ReadmeVaporTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theReadmeExampleIsTheCodeThatCompilesAndRunsHere() async throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("Sources/VaporSessions/VaporSessions.docc/Vapor.md"), encoding: .utf8)
        let source = try String(contentsOf: Self.root.appendingPathComponent("Tests/VaporSessionsTests/ReadmeVaporExample.swift"), encoding: .utf8)
        let example = try #require(Self.between("// README Vapor: begin\n", "// README Vapor: end", in: source))
        let block = try #require(Self.between("```swift\nimport Vapor\n", "```", in: readme), "the Vapor article has no example")
        #expect("import Vapor\n" + block == example)

        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        setenv("SESSION_DB", directory.appendingPathComponent("readme.sqlite").path, 1)
        defer { unsetenv("SESSION_DB") }
        try await withApp(configure: configureSessions) { app in
            var cookie: String?
            try await app.testing().test(.POST, "login") { response in
                cookie = response.headers[.setCookie].first?.split(separator: ";").first.map(String.init)
                #expect(response.status == .ok)
            }
            var headers: HTTPHeaders = ["Cookie": try #require(cookie)]
            try await app.testing().test(.POST, "cart/book", headers: headers) { response in
                #expect(response.status == .forbidden)
            }
            var page = ""
            try await app.testing().test(.GET, "cart", headers: headers) { page = $0.body.string }
            let token = try #require(page.split(separator: "value=").last?.split(separator: ">").first.map(String.init))
            headers.add(name: "X-CSRF-Token", value: token)
            try await app.testing().test(.POST, "cart/book", headers: headers) { response in
                #expect(response.body.string == "added")
            }
            try await app.testing().test(.POST, "logout-everywhere", headers: headers) { response in
                #expect(response.body.string == "signed out of 1 sessions")
            }
        }
    }

    static func between(_ start: String, _ end: String, in text: String) -> String? {
        guard let from = text.range(of: start), let to = text.range(of: end, range: from.upperBound..<text.endIndex) else { return nil }
        return String(text[from.upperBound..<to.lowerBound])
    }
}
#endif

#if Hummingbird
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Sessions
import SessionTestSupport
import Testing

@Suite("Documentation: Hummingbird")
struct ReadmeHummingbirdTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theReadmeExampleIsTheCodeThatCompilesAndRunsHere() async throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("Sources/HummingbirdSessions/HummingbirdSessions.docc/Hummingbird.md"), encoding: .utf8)
        let source = try String(contentsOf: Self.root.appendingPathComponent("Tests/HummingbirdSessionsTests/ReadmeHummingbirdExample.swift"), encoding: .utf8)
        let example = try #require(Self.between("// README Hummingbird: begin (the listing of HummingbirdSessions.docc/Hummingbird.md)\n", "// README Hummingbird: end", in: source))
        let block = try #require(Self.between("```swift\nimport Hummingbird\n", "```", in: readme), "the Hummingbird article has no example")
        #expect("import Hummingbird\n" + block == example)

        try await withStore(.sqlite) { harness in
            try await Application(router: try makeShop(store: harness.store)).test(.router) { client in
                let added = try await client.execute(uri: "/cart/book", method: .post) { $0.headers[values: .setCookie].first }
                let cookie = try #require(added?.split(separator: ";").first.map(String.init))
                let page = try await client.execute(uri: "/cart", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
                #expect(page.hasPrefix("book<form"))
                let token = try #require(page.split(separator: "value=").last?.split(separator: ">").first.map(String.init))
                try await client.execute(uri: "/logout-everywhere", method: .post, headers: [.cookie: cookie]) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/logout-everywhere", method: .post, headers: [.cookie: cookie, HTTPField.Name("X-CSRF-Token")!: token]) { response in
                    #expect(String(buffer: response.body) == "signed out of 0 sessions")
                }
            }
        }
    }

    static func between(_ start: String, _ end: String, in text: String) -> String? {
        guard let from = text.range(of: start), let to = text.range(of: end, range: from.upperBound..<text.endIndex) else { return nil }
        return String(text[from.upperBound..<to.lowerBound])
    }
}
#endif

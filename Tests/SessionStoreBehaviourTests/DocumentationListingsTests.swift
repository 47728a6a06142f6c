import Foundation
import SessionTestSupport
import Sessions
import Testing

/// Every Swift listing in README.md and the DocC catalogs is code this test suite compiles: each
/// is found, line for line (indentation and blank lines aside), in a Swift file under `Tests/`.
/// Its `import` lines may stand anywhere in that file. A listing that opens with
/// `// Package.swift` and imports nothing is a manifest excerpt, which no target compiles.
@Suite("Documentation listings")
struct DocumentationListingsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Listing {
        var file: String
        var line: Int
        var lines: [String]
    }

    /// README.md and every article and landing page of every catalog.
    static func documents() throws -> [String] {
        var documents = ["README.md"]
        let sources = root.appendingPathComponent("Sources")
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted() {
            let catalog = sources.appendingPathComponent(module).appendingPathComponent("\(module).docc")
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: catalog.path) else { continue }
            documents += files.filter { $0.hasSuffix(".md") }.sorted().map { "Sources/\(module)/\(module).docc/\($0)" }
        }
        return documents
    }

    static func swiftListings(in document: String) throws -> [Listing] {
        let text = try String(contentsOf: root.appendingPathComponent(document), encoding: .utf8)
        var listings: [Listing] = []
        var current: Listing?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if current == nil, line == "```swift" {
                current = Listing(file: document, line: number + 1, lines: [])
            } else if current != nil, line.hasPrefix("```") {
                listings.append(current!)
                current = nil
            } else if current != nil {
                current!.lines.append(String(line))
            }
        }
        return listings
    }

    static func normalized(_ lines: [String]) -> [String] {
        lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Every Swift file under Tests/, as normalized lines.
    static func testSources() throws -> [(path: String, lines: [String])] {
        let tests = root.appendingPathComponent("Tests")
        var sources: [(String, [String])] = []
        let walker = FileManager.default.enumerator(atPath: tests.path)
        while let path = walker?.nextObject() as? String {
            guard path.hasSuffix(".swift") else { continue }
            let text = try String(contentsOf: tests.appendingPathComponent(path), encoding: .utf8)
            sources.append((path, normalized(text.components(separatedBy: "\n"))))
        }
        return sources
    }

    static func isCompiled(_ listing: Listing, in sources: [(path: String, lines: [String])]) -> Bool {
        let lines = normalized(listing.lines)
        let imports = lines.filter { $0.hasPrefix("import ") }
        let body = lines.filter { !$0.hasPrefix("import ") }
        return sources.contains { source in
            guard imports.allSatisfy(source.lines.contains) else { return false }
            guard !body.isEmpty else { return true }
            guard source.lines.count >= body.count else { return false }
            return (0...(source.lines.count - body.count)).contains { start in
                Array(source.lines[start..<(start + body.count)]) == body
            }
        }
    }

    @Test func everySwiftListingIsCompiledByTheTestSuite() throws {
        let sources = try Self.testSources()
        var checked = 0
        for document in try Self.documents() {
            for listing in try Self.swiftListings(in: document) {
                let manifest = listing.lines.first?.hasPrefix("// Package.swift") == true && !listing.lines.contains { $0.hasPrefix("import ") }
                if manifest { continue }
                checked += 1
                let compiled = Self.isCompiled(listing, in: sources)
                #expect(compiled, "\(listing.file):\(listing.line): no test source holds this listing")
            }
        }
        #expect(checked >= 10, "only \(checked) listings found: is the search looking in the right place?")
    }

    /// The README is the front door; the detail lives in the articles, and each section the
    /// README used to hold is an article's title or a section of one.
    @Test func theReadmeIsShortAndEverySectionItHeldIsInAnArticle() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(lines < 250, "README.md has \(lines) lines")
        var headings: Set<String> = []
        for document in try Self.documents() where document != "README.md" {
            let text = try String(contentsOf: Self.root.appendingPathComponent(document), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("#") {
                headings.insert(line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces))
            }
        }
        let formerSections = [
            "Getting started", "What the stores promise", "Durability", "Security and policy", "The SQLite store",
            "The cache", "Redis", "Configuring from the environment", "Several hosts", "Sessions in PostgreSQL",
            "Metrics and tracing", "Inspecting and maintaining a session file", "Sessions in a Hummingbird app",
            "Cross-site request forgery", "The sample site", "Sessions in a Vapor app", "Performance", "Package layout",
            "Tests", "Fuzzing", "Choosing a store", "Expiry", "Operations",
        ]
        for section in formerSections {
            #expect(headings.contains(section), "no article has the section \"\(section)\"")
        }
    }

    @Test func theShortListingsRun() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try await DocumentationExamples.readmeQuickStart(path: directory.appendingPathComponent("readme.sqlite").path))
        let stores = try DocumentationExamples.choosingAStore(path: directory.appendingPathComponent("choosing.sqlite").path)
        for store in stores { try await store.close() }
        let remembered = try await DocumentationExamples.expiry(path: directory.appendingPathComponent("expiry.sqlite").path)
        #expect(remembered.expiresAt.millisecondsSince1970 - remembered.createdAt.millisecondsSince1970 == 30 * 86_400_000)
        try await DocumentationExamples.sqliteLanding(path: directory.appendingPathComponent("landing.sqlite").path).close()
    }
}

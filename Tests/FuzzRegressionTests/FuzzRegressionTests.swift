import Foundation
import SessionFuzzing
import Testing

/// Every input the fuzzers were seeded with or crashed on, replayed through its harness: a crash
/// `tools/fuzz` saves to `tools/sessionfuzz/crashes` stays a test after its fix.
@Suite struct FuzzRegressionTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/sessionfuzz")

    /// The seeds in `corpus/NAME/` and the saved crashes `crashes/NAME-…` of a harness.
    static func inputs(of harness: FuzzHarness) throws -> [URL] {
        let files = FileManager.default
        let corpus = fuzzFolder.appendingPathComponent("corpus/\(harness.rawValue)")
        let seeds = try files.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
        let crashes = try files.contentsOfDirectory(at: fuzzFolder.appendingPathComponent("crashes"), includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix("\(harness.rawValue)-") }
        return (seeds + crashes).sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzHarness.allCases)
    func everySavedInputKeepsItsPromises(_ harness: FuzzHarness) throws {
        let inputs = try Self.inputs(of: harness)
        #expect(inputs.count >= 3, "the \(harness.rawValue) corpus has seeds")
        for input in inputs {
            let bytes = try [UInt8](Data(contentsOf: input))
            #expect(throws: Never.self, "\(input.lastPathComponent)") { try harness.run(bytes) }
        }
    }
}

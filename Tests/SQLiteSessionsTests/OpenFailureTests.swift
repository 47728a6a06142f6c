import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

@Suite("Opening bad files")
struct OpenFailureTests {
    private func expectOpenFails(_ path: String, _ code: SessionStoreError.Code, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) {
            try SQLiteSessionStore(path: path)
        } throws: { error in
            guard let error = error as? SessionStoreError else { return false }
            return error.code == code && error.message.contains(path)
        }
    }

    @Test func garbageIsRefusedAndLeftUntouched() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("garbage.sqlite").path
        var generator = SystemRandomNumberGenerator()
        let garbage = Data((0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try garbage.write(to: URL(fileURLWithPath: path))
        expectOpenFails(path, .corruptDatabase)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["garbage.sqlite"])
    }

    @Test func aTextFileIsRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("notes.sqlite").path
        try Data("these are my notes, not a database\n".utf8).write(to: URL(fileURLWithPath: path))
        expectOpenFails(path, .corruptDatabase)
    }

    @Test func aTruncatedDatabaseIsRefusedAndLeftUntouched() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path)
        for _ in 0..<200 { _ = try await store.create(data: Data(repeating: 0x61, count: 2000)) }
        try await store.close()
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(full.count > 100_000)
        for length in [50, 4096 * 3, full.count / 2, full.count - 1] {
            let truncated = full.prefix(length)
            try truncated.write(to: URL(fileURLWithPath: path))
            expectOpenFails(path, .corruptDatabase)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == truncated)
        }
    }

    @Test func aReadOnlyFileIsRefusedWithAClearError() async throws {
        let directory = try makeTemporaryDirectory()
        let path = directory.appendingPathComponent("s.sqlite").path
        try await SQLiteSessionStore(path: path).close()
        try ReadOnlyFile.protect(path)
        defer {
            ReadOnlyFile.unprotect(path)
            try? FileManager.default.removeItem(at: directory)
        }
        #expect {
            try SQLiteSessionStore(path: path)
        } throws: { error in
            guard let error = error as? SessionStoreError else { return false }
            return error.code == .readOnly && error.message.contains("cannot be written")
        }
    }

    @Test func aMissingDirectoryIsAnIOError() {
        expectOpenFails("/nonexistent-\(UUID().uuidString)/s.sqlite", .ioError)
    }

    @Test(arguments: ["", ":memory:", "file:x.sqlite?mode=memory"])
    func pathsThatAreNotFilesAreRefused(_ path: String) {
        #expect {
            try SQLiteSessionStore(path: path)
        } throws: { error in
            (error as? SessionStoreError)?.code == .configurationError
        }
    }
}

import ArgumentParser
import Foundation
import Sessions
import SQLiteSessions

/// `sessionctl migrate`: bring the file to the library's schema.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the schema migrations the file lacks (opening a store does this too)."
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: RefusedKeyOptions

    struct Report: Codable {
        var before: Int?
        var after: Int
    }

    func run() async throws {
        let before = FileManager.default.fileExists(atPath: options.path) ? try SQLiteSessionStore.schemaVersion(ofFileAt: options.path) : nil
        let store = try options.open(create: true)
        let after = try await store.databaseInfo().schemaVersion
        try await store.close()
        if options.json {
            try printJSON(Report(before: before, after: after))
        } else if before == after {
            print("\(options.path) is at schema version \(after), the latest; nothing to do")
        } else {
            print("\(options.path): schema version \(before.map(String.init) ?? "none") → \(after)")
        }
        if before == after { throw CtlExit.notFound }
    }
}

/// `sessionctl checkpoint`: fold the write-ahead log into the database file.
struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Copy the write-ahead log into the database file and truncate it."
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: RefusedKeyOptions

    struct Report: Codable {
        var walBytesBefore: Int
        var walBytesAfter: Int
        var completed: Bool
        var pagesCheckpointed: Int
    }

    func run() async throws {
        let store = try options.open()
        let before = try await store.databaseInfo().walSize
        let result = try await store.checkpoint()
        let after = try await store.databaseInfo().walSize
        try await store.close()
        let report = Report(walBytesBefore: before, walBytesAfter: after, completed: result.completed, pagesCheckpointed: result.checkpointedPages)
        if options.json {
            try printJSON(report)
        } else {
            print("write-ahead log \(Format.bytes(before)) → \(Format.bytes(after)); \(Format.count(result.checkpointedPages)) pages copied"
                + (result.completed ? "" : " (readers kept part of the log in use; run again later)"))
        }
    }
}

/// `sessionctl vacuum`: rebuild the file without free pages.
struct VacuumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vacuum",
        abstract: "Rebuild the database file without its free pages. Writers wait while it runs."
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var keys: RefusedKeyOptions

    struct Report: Codable {
        var bytesBefore: Int
        var bytesAfter: Int
    }

    func run() async throws {
        let store = try options.open()
        let before = try await store.databaseInfo()
        try await store.vacuum()
        _ = try await store.checkpoint()
        let after = try await store.databaseInfo()
        try await store.close()
        let report = Report(bytesBefore: before.fileSize + before.walSize, bytesAfter: after.fileSize + after.walSize)
        if options.json {
            try printJSON(report)
        } else {
            print("\(options.path): \(Format.bytes(report.bytesBefore)) → \(Format.bytes(report.bytesAfter)) (file and write-ahead log)")
        }
    }
}

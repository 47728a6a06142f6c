import ChildProcesses
import Foundation
import SessionTestSupport
import Sessions
@testable import SQLiteSessions
import Testing

@Suite("Storage failures")
struct StorageFailureTests {
    @Test func aFullDatabaseFailsClearlyAndRecoversWhenSpaceReturns() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path, configuration: .init(maxDatabaseSize: 512 << 10))
        let payload = Data(repeating: 0x7A, count: 8 << 10)

        var created: [IssuedSession] = []
        var failure: SessionStoreError?
        while failure == nil && created.count < 1000 {
            do {
                created.append(try await store.create(userID: "u\(created.count % 5)", data: payload))
            } catch let error as SessionStoreError {
                failure = error
            }
        }
        let error = try #require(failure, "the size limit was never reached")
        #expect(error.code == .storageFull)
        #expect(error.underlying?.code.map { $0 & 0xFF } == 13, "SQLITE_FULL underneath: \(error)")
        #expect(error.message.contains("full"))
        #expect(created.count > 10)

        // Everything acknowledged before the failure is intact and readable.
        for issued in created { #expect(try await store.load(issued.token)?.data == payload) }
        await expectError(.storageFull) { try await store.create(data: payload) }

        // Deleting frees pages; the store takes writes again.
        #expect(try await store.delete(created.prefix(created.count / 2).map(\.token)) == created.count / 2)
        let after = try await store.create(data: payload)
        #expect(try await store.load(after.token)?.data == payload)
        try await store.close()
        #expect(try sqlite3(path, "PRAGMA integrity_check;").standardOutput == "ok\n")
    }

    @Test func aFailedOperationInAGroupLeavesTheOthersCommitted() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteSessionStore(path: directory.appendingPathComponent("s.sqlite").path)
        let issued = try await store.create(data: Data("v1".utf8))
        // Half the saves expect a version that is wrong; all run concurrently, mostly in shared commits.
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<40 {
                group.addTask {
                    var session = issued.session
                    if index.isMultiple(of: 2) {
                        session.data = Data("bad \(index)".utf8)
                        return (index, (try? await store.save(session, expectedVersion: 999)) != nil)
                    }
                    let other = try? await store.create(data: Data("\(index)".utf8))
                    return (index, other != nil)
                }
            }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        for (index, succeeded) in results { #expect(succeeded == !index.isMultiple(of: 2), "operation \(index)") }
        #expect(try await store.load(issued.token)?.data == Data("v1".utf8))
        #expect(try await store.count() == 21)
        try await store.close()
    }

    @Test func aBriefLockHeldByAnotherProcessIsWaitedOut() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path)
        let locker = try LockingProcess(path: path, seconds: 1)
        try locker.waitUntilLocked()
        // The lock is held by another process; the create waits for it instead of failing.
        let issued = try await store.create(userID: "patient")
        let result = try locker.finish()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try await store.load(issued.token)?.userID == "patient")
        #expect(try await store.count() == 1)
        try await store.close()
        #expect(try sqlite3(path, "SELECT count(*) FROM replication_cursors WHERE name = 'lock-holder';").standardOutput == "1\n")
    }

    @Test func aLockHeldPastTheBusyTimeoutFailsWithBusy() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sqlite").path
        let store = try SQLiteSessionStore(path: path, configuration: .init(busyTimeout: .milliseconds(200)))
        let locker = try LockingProcess(path: path, seconds: 3)
        try locker.waitUntilLocked()
        await expectError(.busy) { try await store.create() }
        _ = try locker.finish()
        _ = try await store.create()
        #expect(try await store.count() == 1)
        try await store.close()
    }
}

/// A `sqlite3` shell that takes the write lock of a database and holds it for a while.
final class LockingProcess {
    private let process: ChildProcess
    private let path: String

    init(path: String, seconds: Int) throws {
        self.path = path
        process = try ChildProcess("sqlite3", [path], standardInput: .pipe, standardOutput: .pipe, standardError: .pipe)
        try process.finishInput(Array("""
            .timeout 5000
            BEGIN IMMEDIATE;
            INSERT INTO replication_cursors (name, seq, updated_at) VALUES ('lock-holder', 0, 0);
            .shell sleep \(seconds)
            COMMIT;

            """.utf8))
    }

    /// Returns once another connection can no longer take the write lock.
    func waitUntilLocked() throws {
        let probe = try SQLiteConnection(path: path, mode: .readWrite(create: false), busyTimeout: .zero)
        for _ in 0..<500 {
            do {
                try probe.execute("BEGIN IMMEDIATE", "probing the lock")
                try probe.execute("ROLLBACK", "releasing the probe")
                Thread.sleep(forTimeInterval: 0.01)
            } catch {
                return
            }
        }
        throw CancellationError()
    }

    func finish() throws -> ProcessResult {
        let (output, error) = try process.collectOutput()
        return ProcessResult(
            status: process.wait().status,
            standardOutput: String(decoding: output, as: UTF8.self),
            standardError: String(decoding: error, as: UTF8.self)
        )
    }
}

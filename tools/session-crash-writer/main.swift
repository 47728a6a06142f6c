// Writes sessions as fast as it can and reports each write once the store has acknowledged it,
// so a test can kill this process at any moment and check that nothing acknowledged was lost.
//
// Usage: session-crash-writer DB-PATH [full|normal] [TASKS]
//
// Output, one line per acknowledged write, each line a single write(2) so lines never interleave:
//   C <token> <base64 data>   a session was created with this data
//   U <token> <base64 data>   the same session was saved with this data

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Sessions
import SQLiteSessions
import Synchronization

func initialData(_ n: Int) -> Data {
    Data(#"{"n":\#(n),"step":"created","pad":"\#(String(repeating: "x", count: n % 700))"}"#.utf8)
}

func updatedData(_ n: Int) -> Data {
    Data(#"{"n":\#(n),"step":"updated"}"#.utf8)
}

func report(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    bytes.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
            if written <= 0 { exit(1) }
            offset += written
        }
    }
}

/// Hands out 1, 2, 3... to concurrent tasks.
final class SequenceCounter: Sendable {
    private let value = Atomic<Int>(0)

    func next() -> Int { value.add(1, ordering: .relaxed).newValue }
}

func writeForever(path: String, durability: SQLiteSessionStore.Durability, tasks: Int) async throws {
    let store = try SQLiteSessionStore(
        path: path,
        policy: SessionPolicy(expiration: .absolute(.seconds(24 * 3600))),
        configuration: .init(durability: durability)
    )
    let counter = SequenceCounter()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<tasks {
            group.addTask {
                while true {
                    let n = counter.next()
                    let issued = try await store.create(userID: "user\(n % 97)", data: initialData(n))
                    report("C \(issued.token.stringValue) \(issued.session.data.base64EncodedString())")
                    if n % 2 == 0 {
                        var session = issued.session
                        session.data = updatedData(n)
                        _ = try await store.save(session, expectedVersion: session.version)
                        report("U \(issued.token.stringValue) \(session.data.base64EncodedString())")
                    }
                }
            }
        }
        try await group.waitForAll()
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: session-crash-writer DB-PATH [full|normal] [TASKS]\n".utf8))
    exit(2)
}
do {
    try await writeForever(
        path: arguments[1],
        durability: arguments.count > 2 ? SQLiteSessionStore.Durability(rawValue: arguments[2]) ?? .full : .full,
        tasks: arguments.count > 3 ? Int(arguments[3]) ?? 8 : 8
    )
} catch {
    FileHandle.standardError.write(Data("session-crash-writer: \(error)\n".utf8))
    exit(3)
}

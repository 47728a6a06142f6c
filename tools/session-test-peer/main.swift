// A second process for the test suite: it opens a session database through the library and
// does one thing to it, so tests can check what a process sees of another process's writes.
//
//   session-test-peer write-forever DB [full|normal] [TASKS]
//       Creates (and every other time saves) sessions as fast as it can and reports each write
//       once the store acknowledged it; the crash test kills it with SIGKILL. One line per
//       acknowledged write, each a single write(2) so lines never interleave:
//         C <token> <base64 data>   a session was created with this data
//         U <token> <base64 data>   the same session was saved with this data
//   session-test-peer delete DB TOKEN
//       Deletes the session; prints "deleted" or "missing".
//   session-test-peer save DB TOKEN TEXT
//       Replaces the session's data with TEXT; prints the new version.
//   session-test-peer create DB USER
//       Creates a session for USER; prints its token.
//   session-test-peer rotate DB TOKEN
//       Rotates the session; prints the new token, or "missing".
//   session-test-peer replicate DB REDIS-URL NAME PREFIX
//       Runs a Redis replicator for the database until killed.
//   session-test-peer host
//       One host of several sharing sessions, configured from the environment and driven by
//       commands on standard input (HostCommands.swift).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RedisSessions
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

func runOnce(_ arguments: [String]) async throws {
    switch (arguments.first, arguments.count) {
    case ("write-forever", 2...4):
        try await writeForever(
            path: arguments[1],
            durability: arguments.count > 2 ? SQLiteSessionStore.Durability(rawValue: arguments[2]) ?? .full : .full,
            tasks: arguments.count > 3 ? Int(arguments[3]) ?? 8 : 8
        )
    case ("delete", 3):
        let store = try SQLiteSessionStore(path: arguments[1])
        report(try await store.delete(SessionToken(arguments[2])) ? "deleted" : "missing")
        try await store.close()
    case ("save", 4):
        let store = try SQLiteSessionStore(path: arguments[1])
        guard var session = try await store.load(SessionToken(arguments[2])) else {
            report("missing")
            exit(1)
        }
        session.data = Data(arguments[3].utf8)
        report(String(try await store.save(session).version))
        try await store.close()
    case ("create", 3):
        let store = try SQLiteSessionStore(path: arguments[1])
        report(try await store.create(userID: arguments[2]).token.stringValue)
        try await store.close()
    case ("rotate", 3):
        let store = try SQLiteSessionStore(path: arguments[1])
        report(try await store.rotate(SessionToken(arguments[2]))?.token.stringValue ?? "missing")
        try await store.close()
    case ("host", 1):
        try await HostCommands.run()
    case ("replicate", 5):
        let store = try SQLiteSessionStore(path: arguments[1])
        let replicator = RedisReplicator(
            primary: store,
            client: try RedisClient(url: arguments[2]),
            configuration: .init(name: arguments[3], keys: RedisSessionKeys(prefix: arguments[4]), batchSize: 50)
        )
        try await replicator.run()
    default:
        FileHandle.standardError.write(Data("usage: session-test-peer write-forever DB [full|normal] [TASKS] | delete DB TOKEN | save DB TOKEN TEXT | create DB USER | rotate DB TOKEN | replicate DB REDIS-URL NAME PREFIX | host\n".utf8))
        exit(2)
    }
}

do {
    try await runOnce(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("session-test-peer: \(error)\n".utf8))
    exit(3)
}

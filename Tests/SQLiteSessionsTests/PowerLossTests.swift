import CPowerLossVFS
import Foundation
import SessionTestSupport
import Sessions
@testable import SQLiteSessions
import Synchronization
import Testing

/// Power cuts, simulated: the store writes through the "powerloss" VFS (Tests/CPowerLossVFS),
/// which remembers every write no sync has made durable; at a crash point every later write
/// fails, and the unsynced writes are undone (or, torn, partly undone) before the file is opened
/// again with SQLite's default VFS. With `.full` every acknowledged write must be there; with
/// `.normal` the file must be sound and only writes after the last sync may be missing.
///
/// `SESSIONS_POWERLOSS_CYCLES` sets the crash points per scenario (default 50; five scenarios).
@Suite("Power loss", .serialized)
struct PowerLossTests {
    static let cycles = ProcessInfo.processInfo.environment["SESSIONS_POWERLOSS_CYCLES"].flatMap(Int.init) ?? 50

    /// What one task believes about its sessions: data and message contents by token.
    struct Model: Equatable, Sendable {
        var sessions: [SessionToken: (data: Data, messages: [String])] = [:]

        static func == (lhs: Model, rhs: Model) -> Bool {
            lhs.sessions.count == rhs.sessions.count && lhs.sessions.allSatisfy { token, value in
                rhs.sessions[token].map { $0.data == value.data && $0.messages == value.messages } ?? false
            }
        }
    }

    /// A task's history: the model after each acknowledged operation, and, for an operation
    /// that failed at the crash, the model it would have produced.
    struct History: Sendable {
        var acknowledged: [Model] = [Model()]
        var inFlight: Model?
        var tokens: Set<SessionToken> = []
        var operations: [String] = []
        /// The operation the crash interrupted, if it interrupted one of this task's.
        var interrupted: String?
        /// The token of a rotation the crash interrupted. The rotation may have committed, and its
        /// new token never reached the task: the session then lives on under its id alone.
        var rotating: SessionToken?
        var user = ""

        /// The last acknowledged model with the interrupted rotation applied: the old token gone.
        var rotated: Model? {
            guard let rotating else { return nil }
            var model = acknowledged.last!
            model.sessions[rotating] = nil
            return model
        }
    }

    static func register() throws {
        #expect(powerloss_register() == 0)
    }

    static func powerLossStore(_ path: String, durability: SQLiteSessionStore.Durability, clock: ManualSessionClock) throws -> SQLiteSessionStore {
        var configuration = SQLiteSessionStore.Configuration(durability: durability)
        configuration.vfs = "powerloss"
        return try SQLiteSessionStore(path: path, policy: SessionPolicy(maxMessagesPerSession: 5, clock: clock), configuration: configuration)
    }

    /// One task's operations on its own sessions, recording what was acknowledged.
    static func runTask(_ index: Int, store: SQLiteSessionStore, seed: UInt64, steps: Int) async -> History {
        var random = SplitMix64(seed: seed &+ UInt64(index) &* 7919)
        var history = History()
        var model = Model()
        let user = "user\(index)"
        history.user = user
        for step in 0..<steps {
            let live = Array(model.sessions.keys).sorted { $0.hash < $1.hash }
            var next = model
            let choice = live.isEmpty ? 0 : Int(random.next() % 8)
            let data = Data(#"{"task":\#(index),"step":\#(step)}"#.utf8)
            do {
                switch choice {
                case 0:
                    history.operations.append("create")
                    let issued = try await store.create(userID: user, data: data)
                    next.sessions[issued.token] = (data, [])
                    history.tokens.insert(issued.token)
                case 1:
                    history.operations.append("save")
                    let token = live[Int(random.next() % UInt64(live.count))]
                    next.sessions[token]?.data = data
                    history.inFlight = next
                    guard var session = try await store.load(token) else { throw CancellationError() }
                    session.data = data
                    _ = try await store.save(session, expectedVersion: session.version)
                case 2:
                    let token = live[Int(random.next() % UInt64(live.count))]
                    history.operations.append("rotate \(token.hash.shortHex)")
                    history.inFlight = nil
                    history.rotating = token
                    guard let rotated = try await store.rotate(token) else { throw CancellationError() }
                    let moved = next.sessions.removeValue(forKey: token)
                    next.sessions[rotated.token] = moved
                    history.tokens.insert(rotated.token)
                case 3:
                    history.operations.append("delete")
                    let token = live[Int(random.next() % UInt64(live.count))]
                    next.sessions[token] = nil
                    history.inFlight = next
                    _ = try await store.delete(token)
                case 4:
                    history.operations.append("append")
                    let token = live[Int(random.next() % UInt64(live.count))]
                    let content = "m\(step)"
                    let messages = Array(((next.sessions[token]?.messages ?? []) + [content]).suffix(5))
                    next.sessions[token]?.messages = messages
                    history.inFlight = next
                    _ = try await store.append(SessionMessageDraft(role: .user, content: content), to: token)
                case 5:
                    history.operations.append("logout everywhere")
                    next.sessions = [:]
                    history.inFlight = next
                    _ = try await store.deleteSessions(forUser: user)
                case 6:
                    history.operations.append("import")
                    let token = SessionToken.generate()
                    let now = store.policy.now
                    let imported = Session(
                        id: Int64(index * 1_000_000 + step + 1), tokenHash: token.hash, userID: user, data: data,
                        createdAt: now, updatedAt: now, lastSeenAt: now,
                        deadlines: SessionDeadlines(.hybrid(idle: .seconds(1800), absolute: .seconds(86400)), appliedAt: now),
                        version: 1
                    )
                    next.sessions[token] = (data, [])
                    history.tokens.insert(token)
                    history.inFlight = next
                    _ = try await store.importSessions([imported])
                default:
                    history.operations.append("checkpoint")
                    history.inFlight = nil
                    _ = try await store.checkpoint()
                }
                model = next
                history.acknowledged.append(model)
                history.inFlight = nil
                history.rotating = nil
            } catch {
                // The power went during this operation: it may or may not have committed. A commit
                // whose own fsync failed is durable all the same when another connection's fsync
                // (the checkpointer's) or the disk itself got its pages there first.
                if choice == 0 || choice == 2 { history.inFlight = nil }
                history.interrupted = choice == 2 ? "rotate" : history.operations.last
                return history
            }
        }
        return history
    }

    /// How the file differs from what the task expected, for failure messages.
    static func difference(expected: Model, actual: Model) -> String {
        var lines: [String] = []
        for (token, value) in expected.sessions {
            guard let found = actual.sessions[token] else {
                lines.append("\(token) missing (expected data \(String(decoding: value.data, as: UTF8.self)), messages \(value.messages))")
                continue
            }
            if found.data != value.data || found.messages != value.messages {
                lines.append("\(token): data \(String(decoding: found.data, as: UTF8.self)) messages \(found.messages), expected \(String(decoding: value.data, as: UTF8.self)) \(value.messages)")
            }
        }
        for token in actual.sessions.keys where expected.sessions[token] == nil { lines.append("\(token) present but expected gone") }
        return lines.joined(separator: "; ")
    }

    /// Whether an interrupted rotation committed: the old token is gone and the session lives on,
    /// with the same data, under a token the task never saw.
    static func rotationCommitted(_ history: History, actual: Model, in store: SQLiteSessionStore) async throws -> Bool {
        guard let rotating = history.rotating, let rotated = history.rotated, actual == rotated,
              let before = history.acknowledged.last?.sessions[rotating] else { return false }
        let sessions = try await store.sessions(forUser: history.user)
        let known = Set(history.tokens.map(\.hash))
        return sessions.contains { $0.data == before.data && !known.contains($0.tokenHash) }
    }

    /// What the file holds now for the task's tokens.
    static func observed(_ history: History, in store: SQLiteSessionStore) async throws -> Model {
        var model = Model()
        for token in history.tokens {
            guard let session = try await store.load(token) else { continue }
            let messages = try await store.messages(for: token, last: 10)?.map(\.content) ?? []
            model.sessions[token] = (session.data, messages)
        }
        return model
    }

    /// Runs a crash cycle: the workload until the crash point, the power cut, a fresh open.
    ///
    /// - Returns: Acknowledged operations found missing (always 0 for `.full`, or the test fails).
    static func cycle(durability: SQLiteSessionStore.Durability, crashAfter: Int64, torn: Bool, seed: UInt64) async throws -> (missing: Int, acknowledged: Int, interrupted: [String], committedAnyway: Int) {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("power.sqlite").path
        let clock = ManualSessionClock()
        powerloss_reset()
        let store = try powerLossStore(path, durability: durability, clock: clock)
        // Sessions that have expired by the time the workload runs, for the purger.
        for index in 0..<120 { _ = try await store.create(userID: "old\(index % 7)", expiration: .absolute(.seconds(1))) }
        clock.advance(by: .seconds(2))
        powerloss_arm(crashAfter)
        let histories = await withTaskGroup(of: History.self) { group in
            for index in 0..<6 {
                group.addTask { await runTask(index, store: store, seed: seed, steps: 14) }
            }
            group.addTask {
                var history = History()
                while powerloss_crashed() == 0 {
                    history.operations.append("purge")
                    do {
                        guard try await store.purgeExpired(limit: 10) > 0 else { break }
                    } catch {
                        history.interrupted = "purge"
                        break
                    }
                }
                return history
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        powerloss_crash_now()
        try? await store.close()
        _ = powerloss_revert(torn ? 1 : 0, UInt32(truncatingIfNeeded: seed))
        // Shared memory does not survive a power cut: the next open rebuilds it from the log.
        try? FileManager.default.removeItem(atPath: path + "-shm")

        let reopened = try SQLiteSessionStore(path: path, policy: SessionPolicy(maxMessagesPerSession: 5, clock: clock))
        let problems = try await reopened.verify()
        #expect(problems.isEmpty, "verify after a power cut at operation \(crashAfter) (torn: \(torn)): \(problems)")
        var missing = 0
        var committedAnyway = 0
        for history in histories where !history.tokens.isEmpty {
            let actual = try await observed(history, in: reopened)
            let last = history.acknowledged.last!
            if durability == .full {
                var matches = actual == last || history.inFlight.map { $0 == actual } == true
                if !matches { matches = try await rotationCommitted(history, actual: actual, in: reopened) }
                if matches, actual != last { committedAnyway += 1 }
                #expect(matches, "after a power cut at operation \(crashAfter) (torn: \(torn)), acknowledged writes are missing; operations: \(history.operations); \(Self.difference(expected: last, actual: actual))")
            } else {
                // Some prefix of the acknowledged operations survived, whole.
                var survived = history.acknowledged.lastIndex(of: actual)
                if survived == nil, history.inFlight == actual {
                    survived = history.acknowledged.count - 1
                }
                if survived == nil, try await rotationCommitted(history, actual: actual, in: reopened) {
                    survived = history.acknowledged.count - 1
                }
                #expect(survived != nil, "after a power cut at operation \(crashAfter) (torn: \(torn)) the sessions match no moment of their history")
                missing += (history.acknowledged.count - 1) - (survived ?? 0)
            }
        }
        try await reopened.close()
        let integrity = try sqlite3(path, "PRAGMA integrity_check;")
        #expect(integrity.standardOutput == "ok\n", "\(integrity)")
        return (missing, histories.map { $0.acknowledged.count - 1 }.reduce(0, +), histories.compactMap(\.interrupted), committedAnyway)
    }

    /// Operations one uncrashed run of the workload makes, to spread crash points over.
    static func calibrate(durability: SQLiteSessionStore.Durability) async throws -> Int64 {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        powerloss_reset()
        let clock = ManualSessionClock()
        let store = try powerLossStore(directory.appendingPathComponent("c.sqlite").path, durability: durability, clock: clock)
        for index in 0..<120 { _ = try await store.create(userID: "old\(index % 7)", expiration: .absolute(.seconds(1))) }
        clock.advance(by: .seconds(2))
        let before = powerloss_operations()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<6 { group.addTask { _ = await runTask(index, store: store, seed: 1, steps: 14) } }
            group.addTask { while (try? await store.purgeExpired(limit: 10)) ?? 0 > 0 {} }
        }
        let total = powerloss_operations() - before
        try await store.close()
        return max(total, 10)
    }

    @Test(arguments: [SQLiteSessionStore.Durability.full, .normal], [false, true])
    func everyAcknowledgedWriteSurvivesAPowerCut(durability: SQLiteSessionStore.Durability, torn: Bool) async throws {
        try Self.register()
        let span = try await Self.calibrate(durability: durability)
        var missing = 0, acknowledged = 0, committedAnyway = 0
        var interrupted: [String: Int] = [:]
        for index in 0..<Self.cycles {
            let crashAfter = 1 + Int64(index) * span / Int64(Self.cycles) + Int64.random(in: 0..<max(1, span / Int64(Self.cycles)))
            let outcome = try await Self.cycle(durability: durability, crashAfter: crashAfter, torn: torn, seed: UInt64(index) &+ 1)
            missing += outcome.missing
            acknowledged += outcome.acknowledged
            committedAnyway += outcome.committedAnyway
            for operation in outcome.interrupted { interrupted[operation, default: 0] += 1 }
        }
        if durability == .full { #expect(missing == 0) }
        let tally = interrupted.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("power loss, \(durability.rawValue)\(torn ? ", torn writes" : ""): \(Self.cycles) crash points over \(span) file operations, \(acknowledged) acknowledged store operations checked, \(missing) lost; cut short: \(tally)\(durability == .full ? " (\(committedAnyway) of them had committed)" : "")")
    }

    @Test func aPowerCutDuringTheMigrationLosesNoOldSession() async throws {
        try Self.register()
        // The file operations one uncrashed migration makes, to spread the crash points over.
        let span: Int64
        do {
            let directory = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("v2.sqlite").path
            _ = try Self.makeVersion2File(path, sessions: 300)
            powerloss_reset()
            try await Self.powerLossStore(path, durability: .full, clock: ManualSessionClock(StoreHarness.fixedStart)).close()
            span = max(10, powerloss_operations())
        }
        let cycles = max(10, Self.cycles)
        var crashPoints = 0
        for index in 0..<cycles {
            let directory = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("v2.sqlite").path
            let tokens = try Self.makeVersion2File(path, sessions: 300)
            powerloss_reset()
            powerloss_arm(1 + Int64(index) * span / Int64(cycles))
            let clock = ManualSessionClock(StoreHarness.fixedStart)
            if let store = try? Self.powerLossStore(path, durability: .full, clock: clock) {
                try? await store.close()
            }
            if powerloss_crashed() != 0 { crashPoints += 1 }
            powerloss_crash_now()
            _ = powerloss_revert(Int32(index % 2), UInt32(index))
            try? FileManager.default.removeItem(atPath: path + "-shm")
            let reopened = try SQLiteSessionStore(path: path, policy: SessionPolicy(clock: clock))
            #expect(try await reopened.databaseInfo().schemaVersion == Int(SessionSchema.latestVersion))
            for token in tokens {
                #expect(try await reopened.load(token) != nil, "a version-2 session was lost to a power cut during the migration")
            }
            #expect(try await reopened.verify().isEmpty)
            try await reopened.close()
        }
        #expect(crashPoints >= cycles / 2)
        print("power loss during the migration: \(crashPoints) crash points over \(span) file operations")
    }

    /// A version-2 file built with that version's own SQL, holding `sessions` live sessions.
    static func makeVersion2File(_ path: String, sessions: Int) throws -> [SessionToken] {
        let old = try SQLiteConnection(path: path, mode: .readWrite(create: true), busyTimeout: .seconds(5))
        defer { old.close() }
        _ = try old.text("PRAGMA journal_mode = WAL", "")
        try SchemaMigrator(migrations: [SessionSchema.version1, SessionSchema.version2]).migrate(old)
        let ends = StoreHarness.fixedStart.millisecondsSince1970 + 3_600_000
        var tokens: [SessionToken] = []
        try old.execute("BEGIN", "")
        for index in 0..<sessions {
            let token = SessionToken.generate()
            tokens.append(token)
            try old.execute("""
                INSERT INTO sessions (token_hash, user_id, data, created_at, updated_at, last_seen_at, absolute_expires_at, expires_at, version)
                VALUES (X'\(token.hash.hex)', 'user\(index % 9)', CAST('{}' AS BLOB), 1, 1, 1, \(ends), \(ends), 1)
                """, "")
        }
        try old.execute("COMMIT", "")
        return tokens
    }
}

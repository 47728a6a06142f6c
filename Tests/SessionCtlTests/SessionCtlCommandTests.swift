import Foundation
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

/// `sessionctl` as operators use it: the built binary, on real files, output and exit codes checked.
@Suite("sessionctl commands")
struct SessionCtlCommandTests {
    /// A database with a few known sessions, and the tokens that open them.
    struct Fixture {
        let directory: URL
        let path: String
        let tokens: [String: SessionToken]

        init() async throws {
            directory = try makeTemporaryDirectory()
            path = directory.appendingPathComponent("ctl.sqlite").path
            let store = try SQLiteSessionStore(path: path, policy: SessionPolicy(expiration: .absolute(.seconds(3600))))
            var tokens: [String: SessionToken] = [:]
            tokens["alice-laptop"] = try await store.create(userID: "alice", data: Data(#"{"cart":["book"]}"#.utf8), metadata: ["device": "laptop"]).token
            tokens["alice-phone"] = try await store.create(userID: "alice", data: Data("plain text".utf8)).token
            tokens["bob"] = try await store.create(userID: "bob", data: Data([0xFF, 0x00, 0x01])).token
            tokens["expired"] = try await store.create(userID: "carol", expiration: .absolute(.milliseconds(1))).token
            try await store.close()
            try await Task.sleep(for: .milliseconds(5))
            self.tokens = tokens
        }

        func ctl(_ arguments: [String]) throws -> ProcessResult {
            try run(product("sessionctl"), arguments + ["--db", path])
        }

        func json(_ arguments: [String]) throws -> [String: Any] {
            let result = try ctl(arguments + ["--json"])
            let object = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
            return try #require(object as? [String: Any], "\(arguments): \(result)")
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func statsListShowRevokeAndVerify() async throws {
        let fixture = try await Fixture()
        defer { fixture.remove() }

        let stats = try fixture.json(["stats"])
        #expect(stats["total"] as? Int == 4)
        #expect(stats["active"] as? Int == 3)
        #expect(stats["expired"] as? Int == 1)
        #expect((stats["topUsers"] as? [[String: Any]])?.first?["userID"] as? String == "alice")
        let human = try fixture.ctl(["stats"])
        #expect(human.status == 0)
        #expect(human.standardOutput.contains("Age of active sessions"))

        let list = try fixture.json(["list", "--limit", "2"])
        #expect((list["sessions"] as? [Any])?.count == 2)
        let next = try #require(list["next"] as? String)
        let rest = try fixture.json(["list", "--limit", "2", "--after", next])
        #expect((rest["sessions"] as? [Any])?.count == 1)
        #expect(rest["next"] == nil)
        #expect((try fixture.json(["list", "--expired"])["sessions"] as? [Any])?.count == 4)
        #expect((try fixture.json(["list", "--user", "alice"])["sessions"] as? [Any])?.count == 2)

        let laptop = try #require(fixture.tokens["alice-laptop"])
        let shown = try fixture.json(["show", laptop.stringValue])
        #expect(shown["dataIsJSON"] as? Bool == true)
        #expect((shown["data"] as? String)?.contains("\"book\"") == true)
        #expect(((shown["session"] as? [String: Any])?["metadata"] as? [String: String]) == ["device": "laptop"])
        #expect((shown["history"] as? [[String: Any]])?.first?["kind"] as? String == "created")
        let byPrefix = try fixture.json(["show", String(laptop.hash.hex.prefix(10)).uppercased()])
        #expect((byPrefix["session"] as? [String: Any])?["tokenHash"] as? String == laptop.hash.hex)
        let binary = try fixture.ctl(["show", try #require(fixture.tokens["bob"]).stringValue])
        #expect(binary.standardOutput.contains("ff0001"), "bytes that are not text are shown in hex")

        let revoked = try fixture.json(["revoke", try #require(fixture.tokens["alice-phone"]).stringValue])
        #expect((revoked["revoked"] as? [Any])?.count == 1)
        #expect(try fixture.ctl(["revoke", try #require(fixture.tokens["alice-phone"]).stringValue]).status == 1)
        let byUser = try fixture.ctl(["revoke", "--user", "alice"])
        #expect(byUser.status == 0)
        #expect(byUser.standardOutput.contains("revoked 1 session"))
        #expect(try fixture.ctl(["revoke", "--user", "alice"]).status == 1)

        let verify = try fixture.ctl(["verify"])
        #expect(verify.status == 0, "\(verify.standardOutput)")
        #expect(try fixture.json(["verify"])["ok"] as? Bool == true)
    }

    @Test func purgeDryRunThenPurge() async throws {
        let fixture = try await Fixture()
        defer { fixture.remove() }
        let dryRun = try fixture.json(["purge", "--dry-run"])
        #expect(dryRun["expired"] as? Int == 1)
        #expect(dryRun["purged"] as? Int == 0)
        let purge = try fixture.json(["purge"])
        #expect(purge["purged"] as? Int == 1)
        #expect(try fixture.ctl(["purge"]).status == 1, "nothing left to purge")
        #expect(try fixture.json(["stats"])["total"] as? Int == 3)
    }

    @Test func errorsHaveTheirExitCodes() async throws {
        let fixture = try await Fixture()
        defer { fixture.remove() }

        let missing = try run(product("sessionctl"), ["stats", "--db", fixture.directory.appendingPathComponent("nope.sqlite").path])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("no session database"))

        let garbagePath = fixture.directory.appendingPathComponent("garbage.sqlite").path
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: garbagePath))
        let garbage = try run(product("sessionctl"), ["stats", "--db", garbagePath])
        #expect(garbage.status == 3)
        #expect(garbage.standardError.contains("not an SQLite database"))

        let unknown = try fixture.ctl(["show", SessionToken.generate().stringValue])
        #expect(unknown.status == 1, "unknown token: \(unknown.standardError)")
        #expect(try fixture.ctl(["show", "0123456789abcdef0123"]).status == 1, "unknown hash prefix")
        let ambiguous = try fixture.ctl(["show", ""])
        #expect(ambiguous.status == 2, "an empty argument is a usage error")
        #expect(try fixture.ctl(["show", "not-a-token!"]).status == 2)
        #expect(try fixture.ctl(["list", "--limit", "0"]).status == 2)
        #expect(try fixture.ctl(["frobnicate"]).status == 2)
        #expect(try fixture.ctl(["revoke"]).status == 2)

        // With four random hashes, every one-digit prefix but at most four is absent; find one
        // shared by two sessions by adding sessions until a first digit repeats.
        let store = try SQLiteSessionStore(path: fixture.path)
        var firstDigits: [Character: Int] = [:]
        var shared: Character?
        while shared == nil {
            let hash = try await store.create().session.tokenHash.hex
            firstDigits[hash.first!, default: 0] += 1
            if firstDigits[hash.first!] == 2 { shared = hash.first }
        }
        try await store.close()
        let prefixResult = try fixture.ctl(["show", String(shared!)])
        #expect(prefixResult.status == 1)
        #expect(prefixResult.standardError.contains("ambiguous"))
    }

    @Test func readOnlyFilesCanBeInspectedButNotChanged() async throws {
        let fixture = try await Fixture()
        defer { fixture.remove() }
        try ReadOnlyFile.protect(fixture.path)
        defer { ReadOnlyFile.unprotect(fixture.path) }
        let stats = try fixture.ctl(["stats", "--json"])
        #expect(stats.status == 0, "\(stats.standardError)")
        #expect(try fixture.ctl(["verify"]).status == 0)
        #expect(try fixture.ctl(["export"]).status == 0)
        let revoke = try fixture.ctl(["revoke", "--user", "bob"])
        #expect(revoke.status == 3)
        #expect(revoke.standardError.contains("cannot be written"))
        #expect(try fixture.ctl(["purge"]).status == 3)
    }

    @Test func exportThenImportIntoAnEmptyFileReproducesEveryRow() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source.sqlite").path
        let copy = directory.appendingPathComponent("copy.sqlite").path
        let store = try SQLiteSessionStore(path: source, configuration: .init(durability: .normal))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<16 {
                group.addTask {
                    for index in 0..<300 {
                        let issued = try await store.create(
                            userID: index.isMultiple(of: 7) ? nil : "user\((task * 300 + index) % 97)",
                            data: index.isMultiple(of: 11) ? Data([0xFE, 0xFF, UInt8(index % 256)]) : Data(#"{"n":\#(index),"text":"é\n\"x\""}"#.utf8),
                            metadata: index.isMultiple(of: 3) ? ["k": "v\(index)", "quote": "'\""] : [:],
                            expiration: index.isMultiple(of: 5) ? .idle(.seconds(600)) : nil,
                            client: SessionClient(ip: "10.0.0.\(index % 250)", userAgent: "agent \(task)")
                        )
                        if index.isMultiple(of: 13) { _ = try await store.delete(issued.token) }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await store.close()

        let export = try run(product("sessionctl"), ["export", "--db", source])
        #expect(export.status == 0)
        let file = directory.appendingPathComponent("sessions.jsonl")
        try Data(export.standardOutput.utf8).write(to: file)
        let imported = try run(product("sessionctl"), ["import", file.path, "--db", copy, "--json"])
        #expect(imported.status == 0, "\(imported.standardError)")

        let columns = "id, hex(token_hash), user_id, hex(data), metadata, created_at, updated_at, last_seen_at, idle_timeout_ms, absolute_expires_at, expires_at, version, ip, user_agent, last_seen_ip, last_seen_user_agent"
        let original = try sqlite3(source, "SELECT \(columns) FROM sessions ORDER BY id;")
        let reproduced = try sqlite3(copy, "SELECT \(columns) FROM sessions ORDER BY id;")
        #expect(original.standardOutput.split(separator: "\n").count > 4000)
        #expect(original.standardOutput == reproduced.standardOutput, "every row, byte for byte")

        let again = try run(product("sessionctl"), ["import", file.path, "--db", copy, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(again.standardOutput.utf8)) as? [String: Any]
        #expect(report?["unchanged"] as? Int == original.standardOutput.split(separator: "\n").count, "importing twice changes nothing")
        #expect(report?["inserted"] as? Int == 0)
    }

    @Test func importReportsBadLinesByNumberAndStopsWhenStrict() async throws {
        let fixture = try await Fixture()
        defer { fixture.remove() }
        let export = try fixture.ctl(["export"])
        var lines = export.standardOutput.split(separator: "\n").map(String.init)
        lines.insert("{not json", at: 1)
        lines.insert(#"{"id":1,"token_hash":"zz","data":"","created_at":0,"updated_at":0,"last_seen_at":0,"expires_at":0,"version":1}"#, at: 3)
        let file = fixture.directory.appendingPathComponent("bad.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)

        let target = fixture.directory.appendingPathComponent("target.sqlite").path
        let lenient = try run(product("sessionctl"), ["import", file.path, "--db", target, "--json"])
        #expect(lenient.status == 1)
        #expect(lenient.standardError.contains("bad.jsonl:2:"))
        #expect(lenient.standardError.contains("bad.jsonl:4:"))
        let report = try JSONSerialization.jsonObject(with: Data(lenient.standardOutput.utf8)) as? [String: Any]
        #expect(report?["inserted"] as? Int == 4)
        #expect((report?["rejected"] as? [[String: Any]])?.map { $0["line"] as? Int } == [2, 4])

        let strictTarget = fixture.directory.appendingPathComponent("strict.sqlite").path
        let strict = try run(product("sessionctl"), ["import", file.path, "--db", strictTarget, "--strict"])
        #expect(strict.status == 1)
        #expect(strict.standardOutput.contains("2 rejected, so nothing was imported (--strict)"))
        #expect(!FileManager.default.fileExists(atPath: strictTarget), "--strict with a bad line leaves the database untouched")
    }

    /// An export of demo sessions with 2,000 damaged lines mixed in: cut short, wrong types,
    /// values out of range, values that break what verify checks.
    @Test func importRejectsEveryDamagedLineImportsTheRestAndVerifyAgrees() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("demo.sqlite").path
        #expect(try run(product("sessionctl"), ["demo", "--db", source, "--users", "150", "--minutes", "30", "--durability", "normal"]).status == 0)
        let export = try run(product("sessionctl"), ["export", "--db", source])
        let good = export.standardOutput.split(separator: "\n").map(String.init)
        #expect(good.count > 100)

        func mangled(_ line: String, _ index: Int) -> String {
            guard var record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return "{" }
            let created = record["created_at"] as? Int64 ?? 0
            switch index % 20 {
            case 0: return String(line.prefix(1 + index % max(1, line.count - 2)))
            case 1: record["version"] = -3
            case 2: record["idle_timeout_ms"] = 0
            case 3: record["idle_timeout_ms"] = -1
            case 4: record["created_at"] = Int64(4_611_686_018_427_387_904)
            case 5: record["version"] = "7"
            case 6: record["updated_at"] = created - 1000
            case 7: record["last_seen_at"] = -5
            case 8: record["token_hash"] = "xyz"
            case 9: record["data"] = 42
            case 10: record["metadata"] = [1, 2]
            case 11: record["idle_timeout_ms"] = nil; record["absolute_expires_at"] = nil
            case 12: record["absolute_expires_at"] = Int64.max
            case 13: record["user_id"] = ""
            case 14: record["data_encoding"] = "base64"; record["data"] = "!!! not base64"
            case 15: record["idle_timeout_ms"] = 9.5
            case 16: record["created_at"] = 1e300
            case 17: record["user_id"] = String(repeating: "u", count: 5000)
            case 18: return "[]"
            default: record["idle_timeout_ms"] = Int64.max
            }
            return String(decoding: try! JSONSerialization.data(withJSONObject: record), as: UTF8.self)
        }
        var lines = good
        for index in 0..<2000 {
            let position = (index * 7919) % (lines.count + 1)
            lines.insert(mangled(good[index % good.count], index), at: position)
        }
        let file = directory.appendingPathComponent("mangled.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)

        let strictTarget = directory.appendingPathComponent("strict.sqlite").path
        let strict = try run(product("sessionctl"), ["import", file.path, "--db", strictTarget, "--strict", "--json"])
        #expect(strict.status == 1)
        #expect(!FileManager.default.fileExists(atPath: strictTarget))

        let target = directory.appendingPathComponent("target.sqlite").path
        let imported = try run(product("sessionctl"), ["import", file.path, "--db", target, "--json", "--batch", "100"])
        #expect(imported.status == 1, "lines were rejected")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(imported.standardOutput.utf8)) as? [String: Any])
        let rejected = try #require(report["rejected"] as? [[String: Any]])
        #expect(rejected.count == 2000)
        #expect(report["inserted"] as? Int == good.count, "every good line was imported")
        let badLines = Set(lines.indices.filter { !good.contains(lines[$0]) }.map { $0 + 1 })
        #expect(Set(rejected.compactMap { $0["line"] as? Int }) == badLines, "each rejection names its line")
        #expect(rejected.allSatisfy { ($0["reason"] as? String)?.isEmpty == false })
        #expect(!imported.standardError.contains("internalError"))

        let verify = try run(product("sessionctl"), ["verify", "--db", target])
        #expect(verify.status == 0, "\(verify.standardOutput)")
        let count = try sqlite3(target, "SELECT count(*) FROM sessions;")
        #expect(count.standardOutput == "\(good.count)\n")
    }

    @Test func maintenanceCommands() async throws {
        let fixture = try await Fixture()
        defer { fixture.remove() }
        let migrate = try fixture.ctl(["migrate"])
        #expect(migrate.status == 1, "already at the latest schema: nothing done")
        #expect(migrate.standardOutput.contains("schema version 4"))
        let fresh = fixture.directory.appendingPathComponent("fresh.sqlite").path
        let created = try run(product("sessionctl"), ["migrate", "--db", fresh, "--json"])
        #expect(created.status == 0)
        #expect((try JSONSerialization.jsonObject(with: Data(created.standardOutput.utf8)) as? [String: Any])?["after"] as? Int == 4)
        let checkpoint = try fixture.json(["checkpoint"])
        #expect(checkpoint["walBytesAfter"] as? Int == 0)
        let vacuum = try fixture.json(["vacuum"])
        #expect(vacuum["bytesAfter"] as? Int ?? .max <= vacuum["bytesBefore"] as? Int ?? 0)
    }

    @Test func showsMessagesAndReencryptsWithRotatedKeys() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sealed.sqlite").path
        let ctl = try product("sessionctl")
        let oldKey = try run(ctl, ["keygen", "--id", "old"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let newKey = try run(ctl, ["keygen", "--id", "new"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(oldKey.hasPrefix("old:") && Data(base64Encoded: String(oldKey.dropFirst(4)))?.count == 32)
        #expect(try run(ctl, ["keygen", "--id", "bad:id"]).status == 2)

        let store = try SQLiteSessionStore(path: path, policy: SessionPolicy(encryption: try SessionEncryption(parsing: oldKey)))
        let issued = try await store.create(userID: "zoe", data: Data(#"{"secret":"sealed-value"}"#.utf8), metadata: ["plan": "pro"])
        _ = try await store.append(SessionMessageDraft(role: .user, content: "what is my plan?"), to: issued.token)
        _ = try await store.append(SessionMessageDraft(role: .assistant, content: "pro", metadata: ["model": "m-1"]), to: issued.token)
        try await store.close()

        // Without keys: everything but the sealed data is shown, and the data says what seals it.
        let keyless = try run(ctl, ["show", issued.token.stringValue, "--db", path], environment: ["SESSION_ENCRYPTION_KEYS": ""])
        #expect(keyless.status == 0, "\(keyless)")
        #expect(keyless.standardOutput.contains("sealed with key \"old\""))
        #expect(!keyless.standardOutput.contains("sealed-value"))
        #expect(keyless.standardOutput.contains("plan: pro"))
        // With keys: data and messages in full.
        let shown = try run(ctl, ["show", issued.token.stringValue, "--db", path, "--json", "--keys", oldKey])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.standardOutput.utf8)) as? [String: Any], "\(shown)")
        #expect((object["data"] as? String)?.contains("sealed-value") == true, "\(shown.standardOutput)")
        let messages = try #require(object["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["user", "assistant"])
        #expect(messages.map { $0["content"] as? String } == ["what is my plan?", "pro"])
        #expect(messages.last?["metadata"] as? [String: String] == ["model": "m-1"])
        let human = try run(ctl, ["show", issued.token.stringValue, "--db", path, "--keys", oldKey])
        #expect(human.standardOutput.contains("Messages (newest 2)") && human.standardOutput.contains("what is my plan?"))

        // Export keeps data sealed unless asked.
        let export = try run(ctl, ["export", "--db", path], environment: ["SESSION_ENCRYPTION_KEYS": oldKey])
        #expect(export.status == 0 && !export.standardOutput.contains("sealed-value") && export.standardOutput.contains("\"data_encoding\":\"base64\""))
        let decrypted = try run(ctl, ["export", "--db", path, "--decrypt"], environment: ["SESSION_ENCRYPTION_KEYS": oldKey])
        #expect(decrypted.standardOutput.contains("sealed-value"))

        // Rotate: the new key first, the old one still opens.
        #expect(try run(ctl, ["reencrypt", "--db", path]).status == 2, "reencrypt without keys is a usage error")
        let rotated = try run(ctl, ["reencrypt", "--db", path, "--json", "--keys", "\(newKey),\(oldKey)", "--batch", "1"])
        #expect(rotated.status == 0, "\(rotated)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(rotated.standardOutput.utf8)) as? [String: Any])
        #expect(report["sessionsRewritten"] as? Int == 1 && report["messagesRewritten"] as? Int == 2)
        #expect(report["keysInUse"] as? [String: Int] == ["new": 1])
        let reopened = try SQLiteSessionStore(path: path, policy: SessionPolicy(encryption: try SessionEncryption(parsing: newKey)))
        #expect(try await reopened.load(issued.token)?.data == Data(#"{"secret":"sealed-value"}"#.utf8))
        #expect(try await reopened.messages(for: issued.token, last: 5)?.map(\.content) == ["what is my plan?", "pro"])
        try await reopened.close()

        // And off again.
        let plain = try run(ctl, ["reencrypt", "--db", path, "--decrypt", "--json", "--keys", newKey])
        #expect((try JSONSerialization.jsonObject(with: Data(plain.standardOutput.utf8)) as? [String: Any])?["keysInUse"] as? [String: Int] == ["plain": 1])
        #expect(try sqlite3(path, "SELECT CAST(data AS TEXT) FROM sessions; SELECT content FROM session_messages ORDER BY id;").standardOutput
            == "{\"secret\":\"sealed-value\"}\nwhat is my plan?\npro\n")
    }

    /// `--keys` means encryption wherever a command takes it; a command that never touches
    /// session data does not take it.
    @Test func everyCommandThatTakesKeysUsesThem() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ctl = try product("sessionctl")
        let key = try run(ctl, ["keygen", "--id", "k1"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let otherKey = try run(ctl, ["keygen", "--id", "k2"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let noKeys = ["SESSION_ENCRYPTION_KEYS": ""]
        let path = directory.appendingPathComponent("demo.sqlite").path

        let demo = try run(ctl, ["demo", "--db", path, "--users", "100", "--minutes", "20", "--keys", key], environment: noKeys)
        #expect(demo.status == 0, "\(demo.standardError)")
        let rows = try sqlite3(path, "SELECT count(*), sum(substr(data, 1, 1) = '{'), sum(hex(substr(data, 1, 4)) = '00534501') FROM sessions;")
        let counts = rows.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").map { Int($0) ?? -1 }
        #expect(counts.count == 3 && counts[0] > 50, "\(rows)")
        #expect(counts.count == 3 && counts[1] == 0, "no session is stored as plaintext JSON")
        #expect(counts.count == 3 && counts[2] == counts[0], "every session is sealed")

        let verified = try run(ctl, ["verify", "--db", path, "--keys", key], environment: noKeys)
        #expect(verified.status == 0, "\(verified)")
        let wrongKey = try run(ctl, ["verify", "--db", path, "--keys", otherKey], environment: noKeys)
        #expect(wrongKey.status == 3)
        #expect(wrongKey.standardOutput.contains("sessions whose sealed data the keys cannot open"))

        // A sealed export imports sealed, where the keys open it, and nowhere else.
        let export = try run(ctl, ["export", "--db", path], environment: noKeys)
        #expect(export.status == 0)
        let file = directory.appendingPathComponent("sealed.jsonl")
        try Data(export.standardOutput.utf8).write(to: file)
        let copy = directory.appendingPathComponent("copy.sqlite").path
        let imported = try run(ctl, ["import", file.path, "--db", copy, "--keys", key], environment: noKeys)
        #expect(imported.status == 0, "\(imported)")
        #expect(try run(ctl, ["verify", "--db", copy, "--keys", key], environment: noKeys).status == 0)
        #expect(try sqlite3(copy, "SELECT count(*) FROM sessions WHERE hex(substr(data, 1, 4)) != '00534501';").standardOutput == "0\n")
        let elsewhere = try run(ctl, ["import", file.path, "--db", directory.appendingPathComponent("other.sqlite").path, "--keys", otherKey], environment: noKeys)
        #expect(elsewhere.status == 1)
        #expect(elsewhere.standardError.contains("sealed with key \"k1\", which is not configured"))

        let exportWithKeys = try run(ctl, ["export", "--db", path, "--keys", key], environment: noKeys)
        #expect(exportWithKeys.status == 2)
        #expect(exportWithKeys.standardError.contains("--keys is only used with --decrypt"))

        for command in [["stats"], ["list"], ["purge"], ["revoke", "--user", "u1"], ["migrate"], ["checkpoint"], ["vacuum"]] {
            let refused = try run(ctl, command + ["--db", path, "--keys", key], environment: noKeys)
            #expect(refused.status == 2, "\(command) does not touch session data, so it refuses --keys")
            #expect(refused.standardError.contains("never opens session data, so it takes no --keys"), "\(refused.standardError)")
        }
    }
}

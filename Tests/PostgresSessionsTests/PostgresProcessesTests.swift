#if Postgres
import Foundation
import PostgresNIO
import PostgresSessions
import SessionTestSupport
import Sessions
import Testing

/// The PostgreSQL store from outside the test process, as operators and deployments meet it:
/// `sessionctl --postgres` (the built binary) against a database a store is using, and two hosts
/// as real processes (`session-test-peer host`, configured by `SESSION_POSTGRES_URL` as an app
/// is), each with its own memory cache, sharing one database. Waiting for a change to reach the
/// other host polls (up to a minute); no assertion is about time.
@Suite(.enabled(if: PostgresTestServer.available || PostgresTestServer.required))
struct PostgresProcessesTests {
    /// A schema with a few known sessions, and the tokens that open them.
    struct Fixture {
        let schema = PostgresTestServer.uniqueSchema()
        let url: String
        let store: PostgresSessionStore
        let drop: @Sendable () async throws -> Void
        var tokens: [String: SessionToken] = [:]

        init() async throws {
            url = try #require(PostgresTestServer.url)
            (store, drop) = try PostgresTestServer.store(policy: SessionPolicy(expiration: .absolute(.seconds(3600))), schema: schema)
            tokens["alice-laptop"] = try await store.create(userID: "alice", data: Data(#"{"cart":["book"]}"#.utf8), metadata: ["device": "laptop"]).token
            tokens["alice-phone"] = try await store.create(userID: "alice", data: Data("plain text".utf8)).token
            tokens["bob"] = try await store.create(userID: "bob", data: Data([0xFF, 0x00, 0x01])).token
            tokens["expired"] = try await store.create(userID: "carol", expiration: .absolute(.milliseconds(1))).token
            _ = try await store.append(SessionMessageDraft(role: .user, content: "hello"), to: tokens["alice-laptop"]!)
            try await Task.sleep(for: .milliseconds(5))
        }

        func ctl(_ arguments: [String], schema: String? = nil) throws -> ProcessResult {
            try run(product("sessionctl"), arguments + ["--postgres", url, "--postgres-schema", schema ?? self.schema])
        }

        func json(_ arguments: [String]) throws -> [String: Any] {
            let result = try ctl(arguments + ["--json"])
            let object = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
            return try #require(object as? [String: Any], "\(arguments): \(result)")
        }

        func remove() async throws {
            try await drop()
            try await store.close()
        }
    }

    @Test func sessionctlStatsListShowRevokePurgeAndVerifyAPostgresStore() async throws {
        let fixture = try await Fixture()
        do {
            try await Self.exercise(fixture)
        } catch {
            try? await fixture.remove()
            throw error
        }
        try await fixture.remove()
    }

    private static func exercise(_ fixture: Fixture) async throws {
        let stats = try fixture.json(["stats"])
        #expect(stats["total"] as? Int == 4)
        #expect(stats["active"] as? Int == 3)
        #expect(stats["expired"] as? Int == 1)
        #expect((stats["topUsers"] as? [[String: Any]])?.first?["userID"] as? String == "alice")
        let tables = ((stats["postgres"] as? [String: Any])?["tables"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(tables == ["session_changes", "session_messages", "sessions"])
        #expect((stats["changeLog"] as? [String: Any])?["entries"] as? Int ?? 0 >= 4)
        let human = try fixture.ctl(["stats"])
        #expect(human.status == 0, "\(human)")
        #expect(human.standardOutput.contains("dead rows"))

        let list = try fixture.json(["list", "--limit", "2"])
        #expect((list["sessions"] as? [Any])?.count == 2)
        let next = try #require(list["next"] as? String)
        #expect((try fixture.json(["list", "--limit", "2", "--after", next])["sessions"] as? [Any])?.count == 1)
        #expect((try fixture.json(["list", "--expired"])["sessions"] as? [Any])?.count == 4)
        #expect((try fixture.json(["list", "--user", "alice"])["sessions"] as? [Any])?.count == 2)

        // A token starts with "-" one time in 64; pasted as it is, it still names the session.
        var dashed: SessionToken?
        for _ in 0..<2000 where dashed == nil {
            let token = try await fixture.store.create(userID: "dash").token
            if token.stringValue.hasPrefix("-") { dashed = token } else { _ = try await fixture.store.delete(token) }
        }
        let dash = try #require(dashed)
        #expect((try fixture.json(["show", dash.stringValue])["session"] as? [String: Any])?["tokenHash"] as? String == dash.hash.hex)
        let afterFlag = try run(product("sessionctl"), ["show", "--json", dash.stringValue, "--postgres", fixture.url, "--postgres-schema", fixture.schema])
        #expect(afterFlag.status == 0, "\(afterFlag)")
        #expect((try fixture.json(["revoke", dash.stringValue])["revoked"] as? [Any])?.count == 1)

        let laptop = try #require(fixture.tokens["alice-laptop"])
        let shown = try fixture.json(["show", laptop.stringValue])
        #expect((shown["data"] as? String)?.contains("\"book\"") == true)
        #expect(((shown["session"] as? [String: Any])?["metadata"] as? [String: String]) == ["device": "laptop"])
        #expect((shown["history"] as? [[String: Any]])?.first?["kind"] as? String == "created")
        #expect((shown["messages"] as? [[String: Any]])?.first?["content"] as? String == "hello")
        let byPrefix = try fixture.json(["show", String(laptop.hash.hex.prefix(10)).uppercased()])
        #expect((byPrefix["session"] as? [String: Any])?["tokenHash"] as? String == laptop.hash.hex)

        // A revocation by the tool is refused by a running host's cache.
        let (host, _) = try PostgresTestServer.store(policy: SessionPolicy(), schema: fixture.schema)
        let cached = try CachedSessionStore(wrapping: host)
        let phone = try #require(fixture.tokens["alice-phone"])
        #expect(try await cached.load(phone) != nil)
        let revoked = try fixture.json(["revoke", phone.stringValue])
        #expect((revoked["revoked"] as? [Any])?.count == 1)
        var refused = false
        for _ in 0..<3000 where !refused {
            refused = try await cached.load(phone) == nil
            if !refused { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(refused, "the host's cache still serves a session sessionctl revoked")
        try await cached.close()
        #expect(try fixture.ctl(["revoke", phone.stringValue]).status == 1)
        #expect((try fixture.json(["revoke", "--user", "alice"])["revoked"] as? [Any])?.count == 1)

        let dryRun = try fixture.json(["purge", "--dry-run"])
        #expect(dryRun["expired"] as? Int == 1)
        #expect(try fixture.json(["purge"])["purged"] as? Int == 1)
        #expect(try await fixture.store.stats().total == 1)

        let verified = try fixture.json(["verify"])
        #expect(verified["ok"] as? Bool == true, "\(verified)")
        // A change log no one writes breaks every other host's cache: verify says so.
        _ = try await fixture.store.client.query("ALTER TABLE sessions DISABLE TRIGGER sessions_log")
        let broken = try fixture.ctl(["verify"])
        #expect(broken.status == 3)
        #expect(broken.standardOutput.contains("sessions_log"), "\(broken)")
        _ = try await fixture.store.client.query("ALTER TABLE sessions ENABLE TRIGGER sessions_log")
    }

    @Test func sessionctlCreatesNothingWhereThereAreNoSessionsAndRefusesFileOnlyCommands() async throws {
        let url = try #require(PostgresTestServer.url)
        let schema = PostgresTestServer.uniqueSchema()
        let missing = try run(product("sessionctl"), ["stats", "--postgres", url, "--postgres-schema", schema])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.standardError.contains("no session tables"), "\(missing)")
        let unreachable = try run(product("sessionctl"), ["list", "--postgres", "postgres://nobody@127.0.0.1:1/none?sslmode=disable"])
        #expect(unreachable.status == 3, "\(unreachable)")
        #expect(unreachable.standardError.contains("unreachable"), "\(unreachable)")
        let stranger = try run(product("sessionctl"), ["list", "--postgres", "postgres://no_such_role@127.0.0.1:\(try #require(URLComponents(string: url)?.port))/postgres?sslmode=disable"])
        #expect(stranger.status == 2, "\(stranger)")
        #expect(stranger.standardError.contains("no_such_role"), "\(stranger)")
        let export = try run(product("sessionctl"), ["export", "--postgres", url])
        #expect(export.status == 2)
        #expect(export.standardError.contains("SQLite file only"), "\(export)")
        let both = try run(product("sessionctl"), ["stats", "--postgres", url, "--db", "x.sqlite"])
        #expect(both.status == 2)

        // Nothing was created by looking.
        let schemas = try await PostgresTestServer.withClient { client in
            var names: [String] = []
            for try await name in try await client.query("SELECT nspname::text FROM pg_namespace WHERE nspname = \(schema)").decode(String.self) {
                names.append(name)
            }
            return names
        }
        #expect(schemas.isEmpty)
    }

    @Test func twoHostProcessesOnOneDatabaseServeAnySessionAndRefuseALogoutEverywhere() async throws {
        let url = try #require(PostgresTestServer.url)
        let schema = PostgresTestServer.uniqueSchema()
        let environment = ["SESSION_POSTGRES_URL": url, "SESSION_POSTGRES_SCHEMA": schema]
        let a = try HostProcess(name: "a", environment: environment)
        let b: HostProcess
        do {
            b = try HostProcess(name: "b", environment: environment)
        } catch {
            await a.quit()
            throw error
        }
        do {
            // Login on A; B serves it.
            let token = try await a.send("create alice")
            try await b.eventually("get \(token)") { $0 != "missing" }
            // Both hosts cache the session; the cart changes on B, and A serves B's cart.
            #expect(try await a.send("get \(token)") == "")
            #expect(try await b.send("add \(token) book").hasPrefix("ok"))
            try await a.eventually("get \(token)") { $0 == "book" }
            // Both hosts change it at once: nothing is lost.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for host in [a, b] {
                    group.addTask {
                        for index in 0..<10 {
                            let answer = try await host.send("add \(token) \(host.name)\(index)")
                            #expect(answer.hasPrefix("ok"), "\(host.name): \(answer)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            for host in [a, b] {
                let cart = try await host.eventually("get \(token)") { $0.split(separator: ",").count == 21 }
                #expect(Set(cart.split(separator: ",")).count == 21, "\(host.name): \(cart)")
            }
            // Logout on B: A refuses the session.
            #expect(try await b.send("logout \(token)") == "deleted")
            try await a.eventually("get \(token)") { $0 == "missing" }

            // Log out everywhere on A for a user with a session made on each host, each cached on both.
            var bobs: [String] = []
            for host in [a, b] { bobs.append(try await host.send("create bob")) }
            for host in [a, b] {
                for bob in bobs { try await host.eventually("get \(bob)") { $0 != "missing" } }
            }
            #expect(try await a.send("logout-all bob") == "2")
            for host in [a, b] {
                for bob in bobs { try await host.eventually("get \(bob)") { $0 == "missing" } }
            }
            // A rotation on B: A refuses the old token and serves the new one.
            let carol = try await a.send("create carol")
            try await b.eventually("get \(carol)") { $0 != "missing" }
            let rotated = try await b.send("rotate \(carol)")
            try await a.eventually("get \(carol)") { $0 == "missing" }
            try await a.eventually("get \(rotated)") { $0 != "missing" }
            // A message log is one history on both hosts.
            #expect(try await a.send("append \(rotated) hello") == "ok")
            #expect(try await b.send("append \(rotated) hi") == "ok")
            for host in [a, b] { try await host.eventually("messages \(rotated)") { $0 == "hello|hi" } }
        } catch {
            await a.quit()
            await b.quit()
            try? await PostgresTestServer.dropSchema(schema)
            throw error
        }
        await a.quit()
        await b.quit()
        try await PostgresTestServer.dropSchema(schema)
    }
}
#endif

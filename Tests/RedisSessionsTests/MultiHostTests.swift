import ChildProcesses
import Foundation
import LocalRedisServer
import RedisSessions
import SessionTestSupport
import Sessions
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several hosts as real processes, each with its own SQLite file and memory cache, sharing
/// sessions through one real redis-server of their own (so it can be stopped and killed), as an
/// app configures it: `SESSION_REPLICATE_TO` + `SESSION_SYNC=true`. Requests go to the hosts in
/// turn, as a load balancer without sticky sessions sends them.
///
/// Waiting for something to reach another host polls (up to a minute, far beyond the
/// milliseconds it takes); no assertion is about time.
@Suite("Several hosts, one Redis (processes)", .requiresRedis, .serialized)
struct MultiHostTests {
    struct Cluster {
        let redis: RedisServerProcess
        let hosts: [HostProcess]
        let prefix: String
        let client: RedisClient

        /// Every host's live sessions, and Redis's, as `hash:version:cart` lines.
        func snapshots() async throws -> (hosts: [String], redis: String) {
            var dumps: [String] = []
            for host in hosts { dumps.append(try await host.send("dump")) }
            return (dumps, try await redisDump())
        }

        /// Redis's live sessions in the form of a host's `dump`.
        func redisDump() async throws -> String {
            let keys = RedisSessionKeys(prefix: prefix)
            var lines: [String] = []
            var cursor = "0"
            repeat {
                let reply = try await client.send(RedisCommand("SCAN", .string(cursor), "MATCH", .string(keys.sessionPattern), "COUNT", 1000))
                let parts = reply.elements ?? []
                cursor = parts.first?.string ?? "0"
                let names = (parts.last?.elements ?? []).compactMap(\.string)
                guard !names.isEmpty else { continue }
                let values = try await client.send(RedisCommand("MGET", names.map { .string($0) })).elements ?? []
                for value in values {
                    guard let text = value.string, let record = try? SessionRecord.decode(text) else { continue }
                    let items = (try? JSONDecoder().decode([String].self, from: Data(record.data.utf8))) ?? []
                    lines.append("\(record.tokenHash):\(record.version):\(items.joined(separator: ","))")
                }
            } while cursor != "0"
            return lines.sorted().joined(separator: " ")
        }

        /// Waits until every host and Redis hold the same live sessions, then returns them.
        func converged(sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
            var last: (hosts: [String], redis: String) = ([], "")
            for _ in 0..<600 {
                last = try await snapshots()
                if Set(last.hosts + [last.redis]).count == 1 { return last.redis }
                try await Task.sleep(for: .milliseconds(100))
            }
            let described = zip(hosts, last.hosts).map { "\($0.name): \($1.split(separator: " ").count) sessions" }
            Issue.record("hosts and Redis never agreed: \(described), Redis \(last.redis.split(separator: " ").count)", sourceLocation: sourceLocation)
            return last.redis
        }
    }

    /// Starts `names.count` hosts on a private Redis; stops everything afterwards.
    static func withCluster(
        _ names: [String] = ["a", "b", "c"],
        environment: [String: String] = [:],
        _ body: (Cluster) async throws -> Void
    ) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let redis = try RedisServerProcess()
        let prefix = "multi:"
        let hosts = try names.map { try HostProcess(name: $0, directory: directory, redisURL: redis.url, prefix: prefix, environment: environment) }
        let client = try RedisClient(url: redis.url)
        defer { client.close() }
        let cluster = Cluster(redis: redis, hosts: hosts, prefix: prefix, client: client)
        do {
            try await body(cluster)
        } catch {
            for host in hosts { host.kill() }
            throw error
        }
        for host in hosts { await host.quit() }
    }

    @Test func anyHostServesAnySessionAndALogoutAnywhereIsRefusedEverywhere() async throws {
        try await Self.withCluster { cluster in
            let (a, b, c) = (cluster.hosts[0], cluster.hosts[1], cluster.hosts[2])
            // Login on A; B and C serve it.
            let token = try await a.send("create alice")
            for host in [b, c] { try await host.eventually("get \(token)") { $0 != "missing" } }
            // The cart changes on B; A and C serve B's cart.
            #expect(try await b.send("add \(token) book").hasPrefix("ok"))
            for host in [a, c] { try await host.eventually("get \(token)") { $0 == "book" } }
            // Then on A: nothing B wrote is lost.
            #expect(try await a.send("add \(token) pen").hasPrefix("ok"))
            for host in cluster.hosts { try await host.eventually("get \(token)") { $0 == "book,pen" } }
            // Logout on C: A and B refuse the session.
            #expect(try await c.send("logout \(token)") == "deleted")
            for host in [a, b] { try await host.eventually("get \(token)") { $0 == "missing" } }

            // Log out everywhere on B for a user with a session made on each host.
            var bobs: [String] = []
            for host in cluster.hosts { bobs.append(try await host.send("create bob")) }
            for host in cluster.hosts {
                for token in bobs { try await host.eventually("get \(token)") { $0 != "missing" } }
            }
            #expect(try await b.send("logout-all bob") == "3")
            for host in cluster.hosts {
                for token in bobs { try await host.eventually("get \(token)") { $0 == "missing" } }
            }
            // A message log is one history on every host.
            let chat = try await c.send("create carol")
            #expect(try await c.send("append \(chat) hello") == "ok")
            try await a.eventually("messages \(chat)") { $0 == "hello" }
            #expect(try await a.send("append \(chat) hi") == "ok")
            for host in cluster.hosts { try await host.eventually("messages \(chat)") { $0 == "hello|hi" } }
            _ = try await cluster.converged()
        }
    }

    @Test func twoHostsChangingOneSessionAtOnceLoseNoChangeWhileRedisAnswers() async throws {
        try await Self.withCluster(["a", "b"]) { cluster in
            let (a, b) = (cluster.hosts[0], cluster.hosts[1])
            let token = try await a.send("create dana")
            try await b.eventually("get \(token)") { $0 != "missing" }
            let rounds = 25
            try await withThrowingTaskGroup(of: Void.self) { group in
                for host in [a, b] {
                    group.addTask {
                        for index in 0..<rounds {
                            let answer = try await host.send("add \(token) \(host.name)\(index)")
                            #expect(answer.hasPrefix("ok"), "\(host.name): \(answer)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let expected = Set(["a", "b"].flatMap { name in (0..<rounds).map { "\(name)\($0)" } })
            for host in cluster.hosts {
                let cart = try await host.eventually("get \(token)") { $0.split(separator: ",").count == 2 * rounds }
                #expect(Set(cart.split(separator: ",").map(String.init)) == expected, "\(host.name) holds every acknowledged change")
            }
            _ = try await cluster.converged()
        }
    }

    /// What traffic on one host was told, to check against what survives.
    struct Acknowledged: Sendable {
        var items: [String: [String]] = [:]
        var loggedOut: Set<String> = []
    }

    /// Traffic on one host until cancelled: new sessions with items added to them, and logouts
    /// of sessions made before (some of them on other hosts).
    static func traffic(on host: HostProcess, user: String, foreign: [String]) -> Task<Acknowledged, any Error> {
        Task {
            var acknowledged = Acknowledged()
            var foreign = foreign
            var own: [String] = []
            var round = 0
            while !Task.isCancelled {
                round += 1
                if round.isMultiple(of: 4) || own.isEmpty {
                    let token = try await host.send("create \(user)")
                    own.append(token)
                    acknowledged.items[token] = []
                }
                let token = own[round % own.count]
                let item = "\(host.name)\(round)"
                if try await host.send("add \(token) \(item)").hasPrefix("ok") {
                    acknowledged.items[token, default: []].append(item)
                }
                if round.isMultiple(of: 7), let victim = foreign.popLast() {
                    _ = try await host.send("logout \(victim)")
                    acknowledged.loggedOut.insert(victim)
                }
                if round.isMultiple(of: 9), own.count > 1 {
                    let victim = own.removeFirst()
                    #expect(try await host.send("logout \(victim)") == "deleted")
                    acknowledged.loggedOut.insert(victim)
                }
                do { try await Task.sleep(for: .milliseconds(5)) } catch { break }
            }
            return acknowledged
        }
    }

    @Test func redisStoppedAndKilledUnderTrafficEndsWithOneStateNothingLostNothingRevived() async throws {
        try await Self.withCluster { cluster in
            // Sessions every host knows, for the others to log out while Redis is away.
            var shared: [String] = []
            for (index, host) in cluster.hosts.enumerated() {
                for _ in 0..<6 { shared.append(try await host.send("create shared\(index)")) }
            }
            for host in cluster.hosts {
                for token in shared { try await host.eventually("get \(token)") { $0 != "missing" } }
            }
            let everywhere = try await cluster.hosts[0].send("create erin")
            for host in cluster.hosts { try await host.eventually("get \(everywhere)") { $0 != "missing" } }
            let traffic = cluster.hosts.enumerated().map { index, host in
                Self.traffic(on: host, user: "user-\(host.name)", foreign: shared.enumerated().filter { $0.offset % 3 == (index + 1) % 3 }.map(\.element))
            }
            try await Task.sleep(for: .milliseconds(500))
            // Redis freezes for three seconds, then dies and comes back empty three seconds later.
            kill(try #require(cluster.redis.processIdentifier), SIGSTOP)
            try await Task.sleep(for: .seconds(3))
            // Log out everywhere on a host that cannot tell anyone.
            #expect(try await cluster.hosts[2].send("logout-all erin") == "1")
            kill(try #require(cluster.redis.processIdentifier), SIGCONT)
            cluster.redis.kill()
            try await Task.sleep(for: .seconds(3))
            try cluster.redis.restart(keepingData: false)
            try await Task.sleep(for: .seconds(1))
            var acknowledged = Acknowledged()
            for task in traffic {
                task.cancel()
                let result = try await task.value
                acknowledged.items.merge(result.items) { $1 }
                acknowledged.loggedOut.formUnion(result.loggedOut)
            }
            acknowledged.loggedOut.insert(everywhere)

            let state = try await cluster.converged()
            #expect(!acknowledged.items.isEmpty)
            for host in cluster.hosts {
                for token in acknowledged.loggedOut {
                    #expect(try await host.send("get \(token)") == "missing", "\(host.name) serves a session that was logged out")
                }
                for (token, items) in acknowledged.items where !acknowledged.loggedOut.contains(token) {
                    let cart = try await host.send("get \(token)")
                    #expect(cart.split(separator: ",").map(String.init) == items, "\(host.name) lost an acknowledged change")
                }
            }
            #expect(!state.isEmpty)
        }
    }

    @Test func aHostCutOffPastTheBoundRefusesOtherHostsSessionsUntilItHearsFromThemAgain() async throws {
        let environment = ["SESSION_SYNC_WHEN_STALE": "refuse", "SESSION_SYNC_STALE_AFTER": "1s"]
        try await Self.withCluster(["a", "b"], environment: environment) { cluster in
            let (a, b) = (cluster.hosts[0], cluster.hosts[1])
            let own = try await a.send("create hana")
            let foreign = try await b.send("create ivan")
            try await a.eventually("get \(foreign)") { $0 != "missing" }
            #expect(try await a.send("get \(foreign)") != "missing")
            let pid = try #require(cluster.redis.processIdentifier)
            kill(pid, SIGSTOP)
            try await a.eventually("get \(foreign)") { $0 == "missing" }
            #expect(try await a.send("get \(own)") != "missing", "a host always serves the sessions it created")
            let health = try await a.health()
            #expect(health["status"] == "degraded" && health["sync_stale"] == "true", "\(health)")
            kill(pid, SIGCONT)
            try await a.eventually("get \(foreign)") { $0 != "missing" }
            #expect(try await a.health()["sync_stale"] == "false")
        }
    }

    @Test func sessionctlShowsWhereEveryHostStands() async throws {
        try await Self.withCluster { cluster in
            let token = try await cluster.hosts[0].send("create judy")
            for host in cluster.hosts { try await host.eventually("get \(token)") { $0 != "missing" } }
            var hosts: [[String: Any]] = []
            for _ in 0..<100 {
                let result = try run(product("sessionctl"), [
                    "sync", "--db", cluster.hosts[1].database, "--redis", cluster.redis.url, "--prefix", cluster.prefix, "--json",
                ])
                #expect(result.status == 0, "\(result)")
                let report = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
                hosts = report?["hosts"] as? [[String: Any]] ?? []
                let file = report?["file"] as? [[String: Any]] ?? []
                #expect(file.first?["name"] as? String == "b")
                if hosts.count == 3, hosts.allSatisfy({ $0["entriesBehind"] as? Int == 0 }) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(hosts.compactMap { $0["name"] as? String } == ["a", "b", "c"])
            #expect(hosts.allSatisfy { $0["entriesBehind"] as? Int == 0 }, "\(hosts)")
            #expect(Set(hosts.compactMap { $0["tag"] as? Int }).count == 3, "every host has a clock tag of its own")
            let text = try run(product("sessionctl"), ["sync", "--db", cluster.hosts[1].database, "--redis", cluster.redis.url, "--prefix", cluster.prefix])
            #expect(text.standardOutput.contains("entries behind"), "\(text)")
        }
    }

    @Test func aHostKilledMidStreamResumesFromItsCursor() async throws {
        try await Self.withCluster(["a", "b"]) { cluster in
            let (a, b) = (cluster.hosts[0], cluster.hosts[1])
            var tokens: [String] = []
            let writer = Task {
                var made: [String] = []
                for index in 0..<200 {
                    let token = try await a.send("create writer")
                    _ = try await a.send("add \(token) item\(index)")
                    made.append(token)
                }
                return made
            }
            try await Task.sleep(for: .milliseconds(300))
            b.kill()
            try await Task.sleep(for: .milliseconds(300))
            try b.start()
            tokens = try await writer.value
            for token in tokens { try await b.eventually("get \(token)") { $0 != "missing" } }
            _ = try await cluster.converged()
            #expect(try await b.health()["sync_resyncs"] == "0", "the restarted host went on from the position in its file")
        }
    }

    @Test func aHostLeftBehindByTheStreamCopiesEverythingAgainAndConverges() async throws {
        try await Self.withCluster(["a", "b"], environment: ["SESSION_SYNC_STREAM_LENGTH": "100"]) { cluster in
            let (a, b) = (cluster.hosts[0], cluster.hosts[1])
            let doomed = try await a.send("create frank")
            try await b.eventually("get \(doomed)") { $0 != "missing" }
            b.freeze(true)
            var made: [String] = []
            for index in 0..<400 { made.append(try await a.send("create \(index.isMultiple(of: 2) ? "grace" : "-")")) }
            #expect(try await a.send("logout \(doomed)") == "deleted")
            b.freeze(false)
            try await b.eventually("get \(doomed)") { $0 == "missing" }
            for token in made.suffix(10) { try await b.eventually("get \(token)") { $0 != "missing" } }
            _ = try await cluster.converged()
            let resyncs = Int(try await b.health()["sync_resyncs"] ?? "0") ?? 0
            #expect(resyncs >= 1, "the host found the gap and copied everything again")
        }
    }
}

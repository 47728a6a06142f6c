import Foundation
public import Testing
public import RedisSessions
import Sessions

/// The Redis server tests use: the one `tools/test` starts and names in `REDIS_URL`.
///
/// Each test works under a key prefix of its own and deletes its keys afterwards. When
/// `SESSIONS_REQUIRE_REDIS` is set (as `tools/test` and CI do), a missing or unreachable server is
/// a test failure, never a silent skip.
public enum RedisTestServer {
    /// `REDIS_URL`, if set.
    public static var url: String? {
        ProcessInfo.processInfo.environment["REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether Redis tests must run.
    public static var required: Bool {
        ProcessInfo.processInfo.environment["SESSIONS_REQUIRE_REDIS"] == "1"
    }

    /// The server's configuration.
    public static func configuration() throws -> RedisConfiguration {
        guard let url else { throw RedisUnavailable() }
        return try RedisConfiguration(url: url)
    }

    /// A new client for the server.
    public static func client() throws -> RedisClient {
        RedisClient(configuration: try configuration())
    }

    /// A key prefix no other test uses.
    public static func uniquePrefix() -> String {
        "test:\(UUID().uuidString.prefix(13)):"
    }

    /// Deletes every key that starts with `prefix`.
    public static func deleteKeys(prefix: String) async throws {
        let client = try client()
        defer { client.close() }
        var cursor = "0"
        repeat {
            let reply = try await client.send(RedisCommand("SCAN", .string(cursor), "MATCH", .string(prefix + "*"), "COUNT", 1000))
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].string else { return }
            cursor = next
            let keys = (parts[1].elements ?? []).compactMap(\.string)
            if !keys.isEmpty { try await client.send(RedisCommand("DEL", keys.map { .string($0) })) }
        } while cursor != "0"
    }

    /// Every key under `prefix` and its value as text (strings), sorted members (sets) or
    /// elements (lists), each joined with commas.
    public static func dump(prefix: String) async throws -> [String: String] {
        let client = try client()
        defer { client.close() }
        var result: [String: String] = [:]
        var cursor = "0"
        repeat {
            let reply = try await client.send(RedisCommand("SCAN", .string(cursor), "MATCH", .string(prefix + "*"), "COUNT", 1000))
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].string else { break }
            cursor = next
            for key in (parts[1].elements ?? []).compactMap(\.string) {
                let type = try await client.send(RedisCommand("TYPE", .string(key))).string
                if type == "set" {
                    let members = try await client.send(RedisCommand("SMEMBERS", .string(key))).elements ?? []
                    result[key] = members.compactMap(\.string).sorted().joined(separator: ",")
                } else if type == "list" {
                    let elements = try await client.send(RedisCommand("LRANGE", .string(key), 0, -1)).elements ?? []
                    result[key] = elements.compactMap(\.string).joined(separator: ",")
                } else if let value = try await client.send(RedisCommand("GET", .string(key))).string {
                    result[key] = value
                }
            }
        } while cursor != "0"
        return result
    }

    /// What `redis-cli --scan` finds under `prefix`, each key followed by its value as
    /// `redis-cli` prints it: the view of someone looking at the server from outside.
    public static func cliDump(prefix: String) throws -> String {
        guard let url else { throw RedisUnavailable() }
        let keys = try run("redis-cli", ["-u", url, "--scan", "--pattern", prefix + "*"])
        guard keys.status == 0 else { throw CLIFailed(result: keys) }
        var dump = ""
        for key in keys.standardOutput.split(separator: "\n").map(String.init) {
            let type = try run("redis-cli", ["-u", url, "TYPE", key]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            let command: [String] = switch type {
            case "set": ["SMEMBERS", key]
            case "list": ["LRANGE", key, "0", "-1"]
            default: ["GET", key]
            }
            let value = try run("redis-cli", ["-u", url, "--raw"] + command)
            guard value.status == 0 else { throw CLIFailed(result: value) }
            dump += "\(key)\n\(value.standardOutput)\n"
        }
        return dump
    }

    public struct CLIFailed: Error, CustomStringConvertible {
        public var result: ProcessResult
        public var description: String { "redis-cli failed: \(result)" }
    }

    public struct RedisUnavailable: Error, CustomStringConvertible {
        public var description: String { "REDIS_URL is not set; run the suite with tools/test, which starts redis-server" }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only when a Redis server is configured, or when Redis tests are required (then
    /// a missing server fails the test instead of skipping it).
    public static var requiresRedis: Self {
        .enabled(
            if: RedisTestServer.url != nil || RedisTestServer.required,
            "needs a Redis server: run tools/test, which starts one, or set REDIS_URL"
        )
    }
}

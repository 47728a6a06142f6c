import Foundation
import RedisSessions
import SessionTestSupport
import Sessions
import SQLiteSessions
import Testing

/// Compares a Redis replica with its SQLite primary.
enum ReplicaCheck {
    /// Every live local session is in Redis with the same record and the same deadline (PXAT),
    /// and in its user's set; every record this replica wrote belongs to a live local session.
    static func expectMatches(
        _ primary: SQLiteSessionStore,
        client: RedisClient,
        keys: RedisSessionKeys,
        name: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var local: [TokenHash: Session] = [:]
        var cursor: SessionCursor?
        repeat {
            let page = try await primary.list(SessionQuery(after: cursor, limit: 500))
            for session in page.sessions { local[session.tokenHash] = session }
            cursor = page.next
        } while cursor != nil

        var mismatches: [String] = []
        for (hash, session) in local {
            let key = keys.session(hash)
            let replies = try await client.pipeline([RedisCommand("GET", .string(key)), RedisCommand("PEXPIRETIME", .string(key))])
            guard let text = replies[0].string, let record = try? JSONDecoder().decode(Record.self, from: Data(text.utf8)) else {
                mismatches.append("\(hash.shortHex) missing in Redis")
                continue
            }
            if record.data != String(decoding: session.data, as: UTF8.self) { mismatches.append("\(hash.shortHex) data differs") }
            if record.version != session.version { mismatches.append("\(hash.shortHex) version \(record.version) != \(session.version)") }
            if record.user_id != session.userID { mismatches.append("\(hash.shortHex) user differs") }
            if record.expires_at != session.expiresAt.millisecondsSince1970 { mismatches.append("\(hash.shortHex) deadline differs") }
            if replies[1].integer != session.expiresAt.millisecondsSince1970 { mismatches.append("\(hash.shortHex) PXAT \(replies[1]) differs") }
            if let user = session.userID {
                let member = try await client.send(RedisCommand("SISMEMBER", .string(keys.userSessions(user)), .string(hash.hex)))
                if member.integer != 1 { mismatches.append("\(hash.shortHex) not in its user's set") }
            }
        }

        var scan = "0"
        repeat {
            let reply = try await client.send(RedisCommand("SCAN", .string(scan), "MATCH", .string(keys.sessionPattern), "COUNT", 1000))
            let parts = reply.elements ?? []
            scan = parts.first?.string ?? "0"
            for key in (parts.last?.elements ?? []).compactMap(\.string) {
                guard let hash = keys.tokenHash(inKey: key), local[hash] == nil else { continue }
                let text = try await client.send(RedisCommand("GET", .string(key))).string
                if let text, let record = try? JSONDecoder().decode(Record.self, from: Data(text.utf8)), record.source == name {
                    mismatches.append("\(hash.shortHex) is gone locally but still in Redis")
                }
            }
        } while scan != "0"
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(10))", sourceLocation: sourceLocation)
    }

    /// The fields of a Redis record the check compares.
    struct Record: Decodable {
        var data: String
        var version: Int64
        var user_id: String?
        var expires_at: Int64
        var source: String?
    }
}

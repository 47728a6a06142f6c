import Foundation

/// A session as JSON: the record Redis stores (it reads well in `redis-cli`) and the line format
/// of `sessionctl export` and `import`.
///
/// ```json
/// {"created_at":1767225600000,"data":"{\"cart\":[]}","expires_at":1767227400000,"id":7,
///  "idle_timeout_ms":1800000,"last_seen_at":1767225600000,"token_hash":"9f86d0...","updated_at":1767225600000,
///  "user_id":"alice","version":1}
/// ```
///
/// Data that is valid UTF-8 (JSON, usually) is stored as a string; other bytes as base64 with
/// `"data_encoding":"base64"`. Times are Unix milliseconds, as in SQLite. A record written by a
/// replicator names itself in `"source"`, and carries the clock readings that order the
/// session's versions between hosts (`"clock"`, `"base_clock"`: 19 digits, so that text order
/// is number order, also for a Lua script).
///
/// Field names are snake_case, like the SQLite columns; fields that are nil are left out.
public struct SessionRecord: Codable, Sendable, Hashable {
    public var id: Int64
    public var token_hash: String
    public var user_id: String?
    public var data: String
    public var data_encoding: String?
    public var metadata: [String: String]?
    public var created_at: Int64
    public var updated_at: Int64
    public var last_seen_at: Int64
    public var idle_timeout_ms: Int64?
    public var absolute_expires_at: Int64?
    public var expires_at: Int64
    public var version: Int64
    public var ip: String?
    public var user_agent: String?
    public var last_seen_ip: String?
    public var last_seen_user_agent: String?
    public var source: String?
    /// The hybrid clock reading of the write that made these contents, as 19 decimal digits.
    public var clock: String?
    /// The reading of the contents that write started from, as 19 decimal digits.
    public var base_clock: String?

    /// A clock reading as the records write it: 19 digits, zero-padded.
    public static func clockText(_ reading: Int64) -> String {
        let digits = String(max(0, reading))
        return String(repeating: "0", count: max(0, 19 - digits.count)) + digits
    }

    /// The record of `session`; `source` names the replicator that writes it, if any.
    public init(_ session: Session, source: String? = nil) {
        self.source = source
        id = session.id
        token_hash = session.tokenHash.hex
        user_id = session.userID
        // Sealed data starts with a NUL byte; keep it base64 so no text tool mangles it.
        if session.data.first != 0, let text = String(validating: session.data, as: UTF8.self) {
            data = text
            data_encoding = nil
        } else {
            data = session.data.base64EncodedString()
            data_encoding = "base64"
        }
        metadata = session.metadata.isEmpty ? nil : session.metadata
        created_at = session.createdAt.millisecondsSince1970
        updated_at = session.updatedAt.millisecondsSince1970
        last_seen_at = session.lastSeenAt.millisecondsSince1970
        idle_timeout_ms = session.deadlines.idleTimeoutMilliseconds
        absolute_expires_at = session.deadlines.absoluteExpiresAt?.millisecondsSince1970
        expires_at = session.expiresAt.millisecondsSince1970
        version = session.version
        ip = session.ip
        user_agent = session.userAgent
        last_seen_ip = session.lastSeenIP
        last_seen_user_agent = session.lastSeenUserAgent
    }

    /// The session this record describes.
    ///
    /// - Throws: ``Sessions/SessionStoreError/Code/corruptDatabase`` for a record that does not
    ///   describe a session (bad hash, bad base64, no limits).
    public func session() throws(SessionStoreError) -> Session {
        guard let hash = TokenHash(hex: token_hash) else {
            throw SessionStoreError(.corruptDatabase, "a session record has token_hash \"\(token_hash.prefix(70))\", not 64 hex digits")
        }
        let bytes: Data
        if data_encoding == "base64" {
            guard let decoded = Data(base64Encoded: data) else {
                throw SessionStoreError(.corruptDatabase, "session \(hash.shortHex) has data that is not valid base64")
            }
            bytes = decoded
        } else {
            bytes = Data(data.utf8)
        }
        guard idle_timeout_ms != nil || absolute_expires_at != nil else {
            throw SessionStoreError(.corruptDatabase, "session \(hash.shortHex) has neither an idle timeout nor an absolute deadline")
        }
        return Session(
            id: id,
            tokenHash: hash,
            userID: user_id,
            data: bytes,
            metadata: metadata ?? [:],
            createdAt: SessionInstant(millisecondsSince1970: created_at),
            updatedAt: SessionInstant(millisecondsSince1970: updated_at),
            lastSeenAt: SessionInstant(millisecondsSince1970: last_seen_at),
            deadlines: SessionDeadlines(
                idleTimeout: idle_timeout_ms.map { .milliseconds($0) },
                absoluteExpiresAt: absolute_expires_at.map { SessionInstant(millisecondsSince1970: $0) }
            ),
            version: version,
            ip: ip,
            userAgent: user_agent,
            lastSeenIP: last_seen_ip,
            lastSeenUserAgent: last_seen_user_agent
        )
    }

    /// The JSON text on one line, keys sorted.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and integers cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Parses a record.
    ///
    /// - Throws: ``SessionStoreError/Code/corruptDatabase`` for text that is not a session record.
    public static func decode(_ text: String) throws(SessionStoreError) -> SessionRecord {
        do {
            return try JSONDecoder().decode(SessionRecord.self, from: Data(text.utf8))
        } catch {
            throw SessionStoreError(.corruptDatabase, "not a JSON session record: \(error)")
        }
    }
}

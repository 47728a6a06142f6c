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
/// JSON keys are snake_case, like the SQLite columns; fields that are nil are left out.
public struct SessionRecord: Codable, Sendable, Hashable {
    /// The session's id in the store that wrote the record.
    public var id: Int64
    /// The SHA-256 of the token, as 64 hex digits.
    public var tokenHash: String
    /// The owner; nil for an anonymous session.
    public var userID: String?
    /// The data: its text when it is UTF-8, else base64 (``dataEncoding``).
    public var data: String
    /// `"base64"` when ``data`` is base64 (binary or sealed data); nil for text.
    public var dataEncoding: String?
    /// Free-form attributes; nil when there are none.
    public var metadata: [String: String]?
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64
    /// When data, user or metadata last changed, Unix milliseconds.
    public var updatedAt: Int64
    /// The last persisted use, Unix milliseconds.
    public var lastSeenAt: Int64
    /// The sliding timeout; nil for none.
    public var idleTimeoutMilliseconds: Int64?
    /// The fixed deadline, Unix milliseconds; nil for none.
    public var absoluteExpiresAt: Int64?
    /// The effective deadline, Unix milliseconds.
    public var expiresAt: Int64
    /// The compare-and-swap version.
    public var version: Int64
    /// The client address at creation.
    public var ip: String?
    /// The client user agent at creation.
    public var userAgent: String?
    /// The client address at the last persisted use.
    public var lastSeenIP: String?
    /// The client user agent at the last persisted use.
    public var lastSeenUserAgent: String?
    /// The replicator that wrote the record, if one did.
    public var source: String?
    /// The hybrid clock reading of the write that made these contents, as 19 decimal digits.
    public var clock: String?
    /// The reading of the contents that write started from, as 19 decimal digits.
    public var baseClock: String?

    /// The JSON keys: snake_case, like the SQLite columns.
    private enum CodingKeys: String, CodingKey {
        case id, data, metadata, version, ip, source, clock
        case tokenHash = "token_hash"
        case userID = "user_id"
        case dataEncoding = "data_encoding"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case lastSeenAt = "last_seen_at"
        case idleTimeoutMilliseconds = "idle_timeout_ms"
        case absoluteExpiresAt = "absolute_expires_at"
        case expiresAt = "expires_at"
        case userAgent = "user_agent"
        case lastSeenIP = "last_seen_ip"
        case lastSeenUserAgent = "last_seen_user_agent"
        case baseClock = "base_clock"
    }

    /// A clock reading as the records write it: 19 digits, zero-padded.
    public static func clockText(_ reading: Int64) -> String {
        let digits = String(max(0, reading))
        return String(repeating: "0", count: max(0, 19 - digits.count)) + digits
    }

    /// The record of `session`; `source` names the replicator that writes it, if any.
    public init(_ session: Session, source: String? = nil) {
        self.source = source
        id = session.id
        tokenHash = session.tokenHash.hex
        userID = session.userID
        // Sealed data starts with a NUL byte; keep it base64 so no text tool mangles it.
        if session.data.first != 0, let text = String(validating: session.data, as: UTF8.self) {
            data = text
            dataEncoding = nil
        } else {
            data = session.data.base64EncodedString()
            dataEncoding = "base64"
        }
        metadata = session.metadata.isEmpty ? nil : session.metadata
        createdAt = session.createdAt.millisecondsSince1970
        updatedAt = session.updatedAt.millisecondsSince1970
        lastSeenAt = session.lastSeenAt.millisecondsSince1970
        idleTimeoutMilliseconds = session.deadlines.idleTimeoutMilliseconds
        absoluteExpiresAt = session.deadlines.absoluteExpiresAt?.millisecondsSince1970
        expiresAt = session.expiresAt.millisecondsSince1970
        version = session.version
        ip = session.ip
        userAgent = session.userAgent
        lastSeenIP = session.lastSeenIP
        lastSeenUserAgent = session.lastSeenUserAgent
    }

    /// The session this record describes.
    ///
    /// - Throws: ``Sessions/SessionStoreError/Code/corruptDatabase`` for a record that does not
    ///   describe a session (bad hash, bad base64, no limits).
    public func session() throws(SessionStoreError) -> Session {
        guard let hash = TokenHash(hex: tokenHash) else {
            throw SessionStoreError(.corruptDatabase, "a session record has tokenHash \"\(tokenHash.prefix(70))\", not 64 hex digits")
        }
        let bytes: Data
        if dataEncoding == "base64" {
            guard let decoded = Data(base64Encoded: data) else {
                throw SessionStoreError(.corruptDatabase, "session \(hash.shortHex) has data that is not valid base64")
            }
            bytes = decoded
        } else {
            bytes = Data(data.utf8)
        }
        guard idleTimeoutMilliseconds != nil || absoluteExpiresAt != nil else {
            throw SessionStoreError(.corruptDatabase, "session \(hash.shortHex) has neither an idle timeout nor an absolute deadline")
        }
        return Session(
            id: id,
            tokenHash: hash,
            userID: userID,
            data: bytes,
            metadata: metadata ?? [:],
            createdAt: SessionInstant(millisecondsSince1970: createdAt),
            updatedAt: SessionInstant(millisecondsSince1970: updatedAt),
            lastSeenAt: SessionInstant(millisecondsSince1970: lastSeenAt),
            deadlines: SessionDeadlines(
                idleTimeout: idleTimeoutMilliseconds.map { .milliseconds($0) },
                absoluteExpiresAt: absoluteExpiresAt.map { SessionInstant(millisecondsSince1970: $0) }
            ),
            version: version,
            ip: ip,
            userAgent: userAgent,
            lastSeenIP: lastSeenIP,
            lastSeenUserAgent: lastSeenUserAgent
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

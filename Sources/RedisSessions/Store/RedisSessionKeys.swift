public import Sessions

/// The Redis key layout, shared by ``RedisSessionStore`` and ``RedisReplicator`` so that what one
/// writes, the other (and `redis-cli`) reads.
///
/// - `<prefix>session:<hex token hash>`: the session record as JSON, expiring at its deadline (PXAT).
/// - `<prefix>user_sessions:<user id>`: the set of a user's token hashes; members whose session is
///   gone are pruned when read.
/// - `<prefix>messages:<hex token hash>`: the session's message log, a list of JSON messages that
///   expires with the session.
/// - `<prefix>session_ids`, `<prefix>message_ids`: the counters that number sessions and messages
///   created through Redis.
/// - `<prefix>replication:<name>`: the last change-log position a replicator applied.
/// - `<prefix>changes`, `<prefix>changes:sequence`: the change stream hosts that share sessions
///   follow, and the counter that numbers its entries.
/// - `<prefix>tombstone:<hex token hash>`: a token that must never work again, until its expiry.
/// - `<prefix>user_revoked:<user id>`: the user's "log out everywhere" point (Unix ms).
/// - `<prefix>hosts`, `<prefix>host_positions`: which host has which clock tag, and how far each
///   has applied the stream.
public struct RedisSessionKeys: Sendable, Hashable {
    /// Prepended to every key, to share one Redis database between applications.
    public let prefix: String

    /// Creates the layout with every key starting with `prefix`.
    public init(prefix: String = "") {
        self.prefix = prefix
    }

    /// The key of the session with this token hash.
    public func session(_ hash: TokenHash) -> String { prefix + "session:" + hash.hex }

    /// The prefix of every session key, for SCAN.
    public var sessionPrefix: String { prefix + "session:" }

    /// The key of a user's set of token hashes.
    public func userSessions(_ userID: String) -> String { prefix + "user_sessions:" + userID }

    /// The key of the session's message log.
    public func messages(_ hash: TokenHash) -> String { prefix + "messages:" + hash.hex }

    /// The prefix of every message-log key, for scripts that derive it from a hash.
    public var messagesPrefix: String { prefix + "messages:" }

    /// The session id counter.
    public var sessionIDs: String { prefix + "session_ids" }

    /// The message id counter.
    public var messageIDs: String { prefix + "message_ids" }

    /// A replicator's applied-position marker.
    public func replicationMarker(_ name: String) -> String { prefix + "replication:" + name }

    /// The change stream of hosts that share sessions.
    public var changeStream: String { prefix + "changes" }

    /// The counter that numbers the change stream's entries.
    public var changeSequence: String { prefix + "changes:sequence" }

    /// The tombstone of a token.
    public func tombstone(_ hash: TokenHash) -> String { prefix + "tombstone:" + hash.hex }

    /// The prefix of every tombstone key, for SCAN.
    public var tombstonePrefix: String { prefix + "tombstone:" }

    /// A user's revocation point.
    public func userRevoked(_ userID: String) -> String { prefix + "user_revoked:" + userID }

    /// The prefix of every revocation point's key, for SCAN.
    public var userRevokedPrefix: String { prefix + "user_revoked:" }

    /// The registry of host names and clock tags.
    public var hosts: String { prefix + "hosts" }

    /// Each host's position in the change stream.
    public var hostPositions: String { prefix + "host_positions" }

    /// The token hash in a session key, or nil when `key` is not one.
    public func tokenHash(inKey key: String) -> TokenHash? {
        guard key.hasPrefix(sessionPrefix) else { return nil }
        return TokenHash(hex: key.dropFirst(sessionPrefix.count))
    }

    /// A SCAN pattern that matches exactly the session keys, with glob characters in the prefix escaped.
    public var sessionPattern: String { Self.pattern(sessionPrefix) }

    /// A SCAN pattern for every key that starts with `start`, its glob characters escaped.
    public static func pattern(_ start: String) -> String {
        var escaped = ""
        for character in start {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped + "*"
    }
}

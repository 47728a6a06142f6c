import Sessions
import SQLiteSessions

/// One entry of a batch for ``RedisSyncScript``: a change a host sends to Redis.
enum SyncEntry: Sendable {
    /// A session's state (`record` is its text), rotated from `previous`; with `compareWith`, a
    /// compare-and-set against the clock the write started from.
    case put(SharedSession, record: String, previous: TokenHash?, compareWith: Int64?)
    /// A token that must never work again; `sessionID` is the session's id on the sending host.
    case remove(TokenHash, sessionID: Int64?, userID: String?, until: SessionInstant, kind: SessionChange.Kind)
    /// A session that expired here: removed from Redis only if it expired there too.
    case gone(TokenHash)
    /// A user's "log out everywhere" point, a clock reading.
    case revokeUser(String, before: Int64, until: SessionInstant)
    /// A message appended to a session's log (`text` is its JSON).
    case message(TokenHash, sessionID: Int64?, text: String)

    /// The seven script arguments of this entry.
    var arguments: [RedisCommand.Argument] {
        switch self {
        case .put(let shared, let record, let previous, let compareWith):
            return [
                "put", .string(shared.session.tokenHash.hex), .string(shared.session.userID ?? ""), .string(record),
                .integer(shared.session.expiresAt.millisecondsSince1970), .string(previous?.hex ?? ""),
                .string(compareWith.map(SessionRecord.clockText) ?? ""),
            ]
        case .remove(let hash, let id, let user, let until, let kind):
            return [
                "del", .string(hash.hex), .string(user ?? ""), .integer(until.millisecondsSince1970), .string(kind.rawValue),
                .string(id.map(String.init) ?? ""), "",
            ]
        case .gone(let hash):
            return ["gone", .string(hash.hex), "", "", "", "", ""]
        case .revokeUser(let user, let before, let until):
            return ["user", "", .string(user), .string(SessionRecord.clockText(before)), .integer(until.millisecondsSince1970), "", ""]
        case .message(let hash, let id, let text):
            return ["msg", .string(hash.hex), "", .string(text), .string(id.map(String.init) ?? ""), "", ""]
        }
    }
}

/// What ``RedisSyncScript`` did with one entry.
enum SyncResult: Sendable, Equatable {
    /// Stored, and published to the stream.
    case applied
    /// Redis already held it.
    case unchanged
    /// The token is dead in Redis: deleted (`revoked` false) or its user logged out everywhere.
    case refused(revoked: Bool)
    /// Redis holds a later state of the session: this one.
    case stale(String)
    /// A compare-and-set found contents written after the write's starting point: these.
    case conflict(String?)
    /// Stored over a concurrent write whose clock is this.
    case overwrote(String)
    /// A message for a session Redis does not hold.
    case missing
    /// Redis could not read the entry.
    case invalid(String)

    init(_ reply: RESPValue) {
        let parts = reply.elements ?? []
        let detail = parts.count > 1 ? parts[1].string : nil
        switch parts.first?.string {
        case "applied": self = .applied
        case "unchanged": self = .unchanged
        case "refused": self = .refused(revoked: detail == "revoked")
        case "stale": self = detail.map(SyncResult.stale) ?? .invalid("a stale answer without the stored record")
        case "conflict": self = .conflict(detail)
        case "overwrote": self = .overwrote(detail ?? "")
        case "missing": self = .missing
        case "invalid": self = .invalid(detail ?? "no reason given")
        default: self = .invalid("unexpected reply \(reply)")
        }
    }
}

/// One entry of the shared change stream, as a host reads it. Its change is decoded only when
/// asked for (``change()``): a host reads its own entries back and skips nearly all of them.
struct StreamEntry: Sendable {
    /// The Redis stream id.
    var id: String
    /// The sync scripts' sequence number: consecutive, so a gap shows.
    var sequence: Int64
    /// The host that made the change.
    var origin: String
    /// A session state that its host wrote to Redis by compare-and-set before its own file: the
    /// one kind of its own entry a host may not hold yet (it stopped in between).
    var isCompareAndSet: Bool
    private var fields: [String: String]

    /// Parses one `[id, [field, value, ...]]` element of an `XREAD` or `XRANGE` reply.
    ///
    /// - Throws: `SessionStoreError.Code.protocolError` for an entry that no sync
    ///   script wrote.
    init(_ value: RESPValue) throws(SessionStoreError) {
        guard let parts = value.elements, parts.count == 2, let id = parts[0].string else {
            throw SessionStoreError(.protocolError, "a stream entry is not [id, fields]: \(value)")
        }
        var fields: [String: String] = [:]
        if case .map(let entries) = parts[1] {
            for entry in entries { if let key = entry.key.string { fields[key] = entry.value.string } }
        } else {
            let flat = parts[1].elements ?? []
            for index in stride(from: 0, to: flat.count - 1, by: 2) {
                if let key = flat[index].string { fields[key] = flat[index + 1].string }
            }
        }
        guard let sequence = fields["q"].flatMap({ Int64($0) }) else {
            throw SessionStoreError(.protocolError, "stream entry \(id) has no sequence number")
        }
        self.id = id
        self.sequence = sequence
        self.origin = fields["o"] ?? ""
        self.isCompareAndSet = fields["f"] == "cas"
        self.fields = fields
    }

    /// The change, as this host applies it.
    ///
    /// - Throws: `SessionStoreError.Code.protocolError` for an entry that no sync
    ///   script wrote, `SessionStoreError.Code.corruptDatabase` for a record that
    ///   describes no session.
    func change() throws(SessionStoreError) -> SharedChange {
        func field(_ name: String) throws(SessionStoreError) -> String {
            guard let value = fields[name] else { throw SessionStoreError(.protocolError, "stream entry \(id) has no field \"\(name)\"") }
            return value
        }
        func hash(_ text: String) throws(SessionStoreError) -> TokenHash {
            guard let hash = TokenHash(hex: text) else { throw SessionStoreError(.protocolError, "stream entry \(id) names no token hash") }
            return hash
        }
        func instant(_ text: String) throws(SessionStoreError) -> SessionInstant {
            guard let value = Int64(text) else { throw SessionStoreError(.protocolError, "stream entry \(id) has a time that is not a number") }
            return SessionInstant(millisecondsSince1970: value)
        }
        switch try field("op") {
        case "put":
            let previous = try field("b")
            return .put(try SessionRecord.shared(try field("a")), replacing: previous.isEmpty ? nil : try hash(previous))
        case "del":
            let kind = SessionChange.Kind(rawValue: try field("b")).flatMap { [.deleted, .revoked, .rotatedOut, .evicted].contains($0) ? $0 : nil }
            return .remove(try hash(try field("h")), sessionID: fields["i"].flatMap { Int64($0) }, kind: kind ?? .deleted, until: try instant(try field("a")))
        case "user":
            guard let before = Int64(try field("a")) else { throw SessionStoreError(.protocolError, "stream entry \(id) has a revocation point that is not a number") }
            return .revokeUser(try field("u"), before: before, until: try instant(try field("b")))
        case "msg":
            return .message(try hash(try field("h")), sessionID: fields["i"].flatMap { Int64($0) }, try RedisStoredMessage.decode(try field("a")).stored())
        case let other:
            throw SessionStoreError(.protocolError, "stream entry \(id) has unknown operation \"\(other)\"")
        }
    }

    /// For a removal: the token it ends, without decoding anything else.
    var removedToken: TokenHash? {
        fields["op"] == "del" ? fields["h"].flatMap { TokenHash(hex: $0) } : nil
    }
}

public import NIOCore

/// One value of the Redis serialization protocol, RESP2 or RESP3
/// (<https://redis.io/docs/latest/develop/reference/protocol-spec/>).
public enum RESPValue: Sendable, Hashable {
    /// `+OK`
    case simpleString(String)
    /// `-ERR ...` and RESP3's bulk error `!`.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$5\r\nhello`
    case bulkString(ByteBuffer)
    /// `$-1`, `*-1` and RESP3's `_`.
    case null
    /// `*2\r\n...`
    case array([RESPValue])
    /// RESP3 `,3.14`
    case double(Double)
    /// RESP3 `#t`
    case boolean(Bool)
    /// RESP3 `(3492890328409238509324850943850943825024385`
    case bigNumber(String)
    /// RESP3 `=15\r\ntxt:Some string`
    case verbatimString(format: String, text: ByteBuffer)
    /// RESP3 `%2\r\n...`: key-value pairs in the order received.
    case map([RESPMapEntry])
    /// RESP3 `~2\r\n...`
    case set([RESPValue])
    /// RESP3 `>2\r\n...`: an out-of-band message, not the reply to a command.
    case push([RESPValue])

    /// The value as text, for the string-like kinds; nil for the others.
    public var string: String? {
        switch self {
        case .simpleString(let text), .bigNumber(let text): text
        case .bulkString(let buffer), .verbatimString(_, let buffer): String(buffer: buffer)
        default: nil
        }
    }

    /// The value as an integer, for integers and integer-looking strings.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString, .bigNumber: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array, set or push.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): values
        default: nil
        }
    }

    /// Whether the value is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// One key-value pair of a RESP3 map.
public struct RESPMapEntry: Sendable, Hashable {
    /// The entry's key.
    public var key: RESPValue
    /// The entry's value.
    public var value: RESPValue

    /// Creates an entry; each parameter sets the property of the same name.
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

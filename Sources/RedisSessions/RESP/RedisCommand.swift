public import NIOCore

/// A command to send: a name and its arguments, each sent as a RESP bulk string.
public struct RedisCommand: Sendable, Hashable, CustomStringConvertible {
    /// One argument.
    public enum Argument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        /// Text, sent as its UTF-8 bytes.
        case string(String)
        /// Raw bytes, sent as they are.
        case bytes([UInt8])
        /// The readable bytes of a buffer, sent as they are.
        case buffer(ByteBuffer)
        /// A number, sent in decimal.
        case integer(Int64)

        public init(stringLiteral value: String) { self = .string(value) }
        public init(integerLiteral value: Int64) { self = .integer(value) }
    }

    /// The command name and its arguments, in order.
    public var arguments: [Argument]

    /// Creates the command `name` with `arguments` after it.
    public init(_ name: String, _ arguments: [Argument] = []) {
        self.arguments = [.string(name)] + arguments
    }

    /// Creates the command `name` with `arguments` after it.
    public init(_ name: String, _ arguments: Argument...) {
        self.init(name, arguments)
    }

    /// The command name, for logs and errors (arguments are not shown: they may hold session data).
    public var description: String {
        if case .string(let name) = arguments.first { return name }
        return "command"
    }
}

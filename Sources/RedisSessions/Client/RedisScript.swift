import Crypto
public import Sessions

/// A Lua script run with `EVALSHA`, loaded with `EVAL` the first time a server does not know it.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// Its SHA-1 in hex, as `SCRIPT LOAD` and `EVALSHA` name it.
    public let sha1: String

    /// Creates a script from its Lua source and computes its SHA-1.
    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The `EVALSHA` command for these keys and arguments.
    func evalsha(keys: [String], arguments: [RedisCommand.Argument]) -> RedisCommand {
        RedisCommand("EVALSHA", [.string(sha1), .integer(Int64(keys.count))] + keys.map { .string($0) } + arguments)
    }

    /// The `EVAL` command, for a server that answered `NOSCRIPT`.
    func eval(keys: [String], arguments: [RedisCommand.Argument]) -> RedisCommand {
        RedisCommand("EVAL", [.string(source), .integer(Int64(keys.count))] + keys.map { .string($0) } + arguments)
    }
}

extension RedisClient {
    /// Runs `script`, loading it into the server's script cache if needed.
    ///
    /// - Throws: A connection error, or `SessionStoreError.Code.protocolError` when the script fails.
    public func run(_ script: RedisScript, keys: [String], arguments: [RedisCommand.Argument]) async throws(SessionStoreError) -> RESPValue {
        var reply = try await pipeline([script.evalsha(keys: keys, arguments: arguments)])[0]
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            reply = try await pipeline([script.eval(keys: keys, arguments: arguments)])[0]
        }
        if case .error(let message) = reply {
            throw SessionStoreError(.protocolError, "a Redis script failed: \(message)", underlying: .init(code: nil, message: message))
        }
        return reply
    }
}

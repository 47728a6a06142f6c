import Foundation
public import Sessions

/// Where a Redis server is and how to talk to it, usually parsed from a `redis://` URL.
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// ACL user name (Redis 6+), or nil for the default user.
    public var username: String?
    /// Password, or nil when the server needs none.
    public var password: String?
    /// Logical database number (`SELECT`).
    public var database: Int
    /// How long connecting (including AUTH and SELECT) may take.
    public var connectTimeout: Duration
    /// How long one command or pipeline may wait for its replies before the connection is
    /// considered broken and closed.
    public var commandTimeout: Duration
    /// Connections kept open; commands are spread across them.
    public var connections: Int
    /// First wait before reconnecting after a failure; doubles up to ``maxReconnectDelay``.
    public var reconnectDelay: Duration
    /// Longest wait between reconnection attempts.
    public var maxReconnectDelay: Duration
    /// Limits on replies, against a broken or hostile server.
    public var decoderLimits: RESPDecoder.Limits
    /// Speak RESP3 (`HELLO 3`, Redis 6+) instead of RESP2. The stores work with either.
    public var resp3: Bool

    /// Creates a configuration; each parameter sets the property of the same name.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        connections: Int = 2,
        reconnectDelay: Duration = .milliseconds(100),
        maxReconnectDelay: Duration = .seconds(5),
        decoderLimits: RESPDecoder.Limits = .init(),
        resp3: Bool = false
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.connections = connections
        self.reconnectDelay = reconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.decoderLimits = decoderLimits
        self.resp3 = resp3
    }

    /// Parses `redis://[[user]:password@]host[:port][/db][?protocol=3]`.
    ///
    /// - Throws: `SessionStoreError.Code.configurationError` naming what is wrong:
    ///   another scheme, `rediss://` (TLS is not supported by this client), a missing host, a port
    ///   or database that is not a number in range.
    public init(url text: String) throws(SessionStoreError) {
        self.init()
        let shown = Self.redacted(text)
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            if let rawPort = Self.rawPort(text), Int(rawPort) == nil {
                throw SessionStoreError(.configurationError, "\"\(shown)\": port \"\(rawPort)\" is not a number")
            }
            throw SessionStoreError(.configurationError, "\"\(shown)\" is not a URL; expected redis://[user:password@]host:port/db")
        }
        switch scheme {
        case "redis":
            break
        case "rediss":
            throw SessionStoreError(
                .configurationError,
                "\"\(shown)\": TLS (rediss://) is not supported by this client; reach Redis over a private network "
                    + "or a local TLS tunnel (stunnel, spiped) and use redis://"
            )
        default:
            throw SessionStoreError(.configurationError, "\"\(shown)\": the scheme must be redis://, not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw SessionStoreError(.configurationError, "\"\(shown)\" has no host; expected redis://host:port")
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard !self.host.isEmpty else {
            throw SessionStoreError(.configurationError, "\"\(shown)\" has no host; expected redis://host:port")
        }
        if let port = components.port {
            guard (1...65535).contains(port) else {
                throw SessionStoreError(.configurationError, "\"\(shown)\": port \(port) is out of range 1-65535")
            }
            self.port = port
        } else if let rawPort = Self.rawPort(text) {
            throw SessionStoreError(.configurationError, "\"\(shown)\": port \"\(rawPort)\" is not a number")
        }
        if let user = components.user, !user.isEmpty { self.username = user.removingPercentEncoding ?? user }
        if let password = components.password { self.password = password.removingPercentEncoding ?? password }
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("protocol", "3"): resp3 = true
            case ("protocol", "2"): resp3 = false
            default:
                throw SessionStoreError(.configurationError, "\"\(shown)\": unknown option \"\(item.name)=\(item.value ?? "")\" (supported: protocol=2 or 3)")
            }
        }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else {
                throw SessionStoreError(.configurationError, "\"\(shown)\": database \"\(path)\" is not a number 0 or above")
            }
            self.database = database
        }
    }

    /// `redis://host:port/db`, without credentials.
    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "redis://\(host):\(port)/\(database)"
    }

    /// The URL with any password replaced by `***`, safe for logs and error messages.
    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        // scheme://user:password@host: the scheme and user stay, the password goes.
        if let schemeEnd = text.range(of: "://"), schemeEnd.upperBound <= at,
           !text[..<schemeEnd.lowerBound].isEmpty, text[..<schemeEnd.lowerBound].allSatisfy({ $0.isASCII && $0.isLetter }),
           let colon = text[schemeEnd.upperBound..<at].firstIndex(of: ":"),
           !text[schemeEnd.upperBound..<colon].contains(where: { "@/".contains($0) }) {
            return text[..<text.index(after: colon)] + "***" + text[at...]
        }
        // Anything else before the last '@' may hold a password: redacting too much is harmless.
        return "***" + text[at...]
    }

    /// The port text of a URL whose port `URLComponents` rejected, if it had one.
    private static func rawPort(_ text: String) -> String? {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        var authority = text[schemeEnd.upperBound...]
        if let slash = authority.firstIndex(of: "/") { authority = authority[..<slash] }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if let bracket = authority.lastIndex(of: "]") { authority = authority[authority.index(after: bracket)...] }
        guard let colon = authority.lastIndex(of: ":") else { return nil }
        return String(authority[authority.index(after: colon)...])
    }
}

/// The client a request came from, recorded as a session's last-seen address and agent when a
/// use is persisted.
public struct SessionClient: Sendable, Hashable {
    /// The client's address.
    public var ip: String?
    /// The client's `User-Agent` header.
    public var userAgent: String?

    /// Creates a client description; each parameter sets the property of the same name.
    public init(ip: String? = nil, userAgent: String? = nil) {
        self.ip = ip
        self.userAgent = userAgent
    }
}

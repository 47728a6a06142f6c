public import Foundation

/// What to store in a new session; the argument of ``SessionStore/create(_:)``.
public struct SessionDraft: Sendable, Hashable {
    /// The owner, or nil for an anonymous session.
    public var userID: String?
    /// Initial session data.
    public var data: Data
    /// Free-form string attributes.
    public var metadata: [String: String]
    /// Expiry for this session only; nil uses the store's ``SessionPolicy/expiration``.
    public var expiration: ExpirationPolicy?
    /// Client address, recorded as both the creating and the last-seen address.
    public var ip: String?
    /// Client user agent, recorded as both the creating and the last-seen agent.
    public var userAgent: String?

    /// Creates a draft; each parameter sets the property of the same name.
    public init(
        userID: String? = nil,
        data: Data = Data(),
        metadata: [String: String] = [:],
        expiration: ExpirationPolicy? = nil,
        ip: String? = nil,
        userAgent: String? = nil
    ) {
        self.userID = userID
        self.data = data
        self.metadata = metadata
        self.expiration = expiration
        self.ip = ip
        self.userAgent = userAgent
    }
}

public import Foundation

extension Session {
    /// Decodes ``data`` as JSON into `type`.
    ///
    /// - Throws: The decoder's error when the data is not a `T`.
    public func decode<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(type, from: data)
    }

    /// Replaces ``data`` with `value` encoded as JSON. Save the session to store it.
    public mutating func encode<T: Encodable>(_ value: T, encoder: JSONEncoder = JSONEncoder()) throws {
        data = try encoder.encode(value)
    }
}

extension SessionStore {
    /// Stores a new session whose data is `value` encoded as JSON.
    ///
    /// ```swift
    /// struct Cart: Codable { var items: [String] }
    /// let issued = try await store.create(userID: "alice", value: Cart(items: []))
    /// let cart = try await store.load(issued.token)?.decode(Cart.self)
    /// ```
    public func create<T: Encodable>(
        userID: String? = nil,
        value: T,
        metadata: [String: String] = [:],
        expiration: ExpirationPolicy? = nil,
        client: SessionClient? = nil,
        encoder: JSONEncoder = JSONEncoder()
    ) async throws -> IssuedSession {
        try await create(
            userID: userID,
            data: encoder.encode(value),
            metadata: metadata,
            expiration: expiration,
            client: client
        )
    }

    /// Loads the session for `token` and decodes its data as `type`; nil when missing or expired.
    public func load<T: Decodable>(
        _ type: T.Type,
        for token: SessionToken,
        decoder: JSONDecoder = JSONDecoder()
    ) async throws -> T? {
        try await load(token)?.decode(type, decoder: decoder)
    }
}

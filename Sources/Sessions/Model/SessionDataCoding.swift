public import Foundation

extension Session {
    /// Whether the fields an application owns (user, data, metadata) are equal.
    public func hasSameContents(as other: Session) -> Bool {
        userID == other.userID && data == other.data && metadata == other.metadata
    }

    /// Decodes ``data`` as JSON into `type`; nil when there is no data.
    public func decodeData<T: Decodable>(as type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T? {
        data.isEmpty ? nil : try decoder.decode(type, from: data)
    }

    /// Replaces ``data`` with `value` as JSON with sorted keys, so the same value always gives
    /// the same bytes and an unchanged value is recognised as unchanged.
    public mutating func encodeData<T: Encodable>(_ value: T) throws {
        data = try SessionDataCoding.encode(value)
    }
}

/// How the integrations turn typed session data into bytes.
public enum SessionDataCoding {
    /// JSON with sorted keys, so equal values encode to equal bytes.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(value)
    }

    /// The error for a session without data where a value was required.
    static func emptyData<T>(_ type: T.Type) -> SessionStoreError {
        SessionStoreError(.invalidArgument, "the session has no data to decode as \(T.self); pass a default value")
    }
}

import Foundation
import Sessions

/// How a connection turns session data and message content into what is stored, and back.
struct StoredDataCodec: Sendable {
    /// Seals what is written and opens what is read; nil stores data as it is.
    var encryption: SessionEncryption?
    /// Hand sealed data out still sealed when there is no key to open it, instead of failing:
    /// for tools that inspect or copy a database without its keys, and for queries that never
    /// look at the data. Never for serving sessions.
    var keepsSealedData = false

    /// Leaves data as it is, sealed or not.
    static let passThrough = StoredDataCodec(encryption: nil, keepsSealedData: true)

    /// Data as stored: sealed with the current key when encryption is on. Data that arrives
    /// already sealed (an import, a copy) is stored as it came; applications cannot write such
    /// data themselves (`SessionPolicy.validate(data:)` refuses it).
    func seal(_ data: Data) throws(SessionStoreError) -> Data {
        guard !SessionEncryption.isSealed(data) else { return data }
        return try SessionEncryption.seal(data, using: encryption)
    }

    /// Data as stored, opened.
    func open(_ stored: Data) throws(SessionStoreError) -> Data {
        if encryption == nil && keepsSealedData { return stored }
        return try SessionEncryption.open(stored, using: encryption)
    }
}

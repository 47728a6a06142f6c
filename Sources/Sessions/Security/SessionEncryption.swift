public import Crypto
public import Foundation

/// Seals session data at rest with AES-256-GCM, under a named key, so keys can be rotated.
///
/// Sealed data is `00 53 45 01 | key-id length | key id | nonce (12) | ciphertext | tag (16)`:
/// the leading NUL byte never starts JSON or text, so a store can tell sealed data from data
/// written before encryption was turned on. The header is authenticated with the ciphertext, so
/// neither the key id nor any byte can change undetected.
///
/// Data is sealed with ``currentKeyID`` and opened with whichever configured key it names, so
/// rotating keys is: add the new key as current, keep the old one until `sessionctl reencrypt`
/// has rewritten everything, then drop it. Tampered, truncated or unknown-key data fails with
/// ``SessionStoreError/Code/decryptionFailed``, never with wrong bytes.
///
/// Only ``Session/data`` is sealed; ids, times, user ids and metadata stay readable, because the
/// store queries them.
public struct SessionEncryption: Sendable {
    /// The first bytes of sealed data.
    public static let magic: [UInt8] = [0x00, 0x53, 0x45, 0x01]

    /// The key new data is sealed with.
    public let currentKeyID: String
    private let keys: [String: SymmetricKey]

    /// Creates an encryption with named 256-bit keys.
    ///
    /// - Throws: ``SessionStoreError/Code/configurationError`` when the current key is missing, a
    ///   key is not 256 bits, or a key id is empty, longer than 64 bytes or not printable ASCII.
    public init(currentKeyID: String, keys: [String: SymmetricKey]) throws(SessionStoreError) {
        for (id, key) in keys {
            guard Self.isValidKeyID(id) else {
                throw SessionStoreError(.configurationError, "encryption key id \"\(id.prefix(70))\" must be 1-64 printable ASCII characters without ':' or ','")
            }
            guard key.bitCount == 256 else {
                throw SessionStoreError(.configurationError, "encryption key \"\(id)\" has \(key.bitCount) bits; AES-256-GCM needs 256")
            }
        }
        guard keys[currentKeyID] != nil else {
            throw SessionStoreError(.configurationError, "the current encryption key \"\(currentKeyID)\" is not among the keys given")
        }
        self.currentKeyID = currentKeyID
        self.keys = keys
    }

    /// 1-64 printable ASCII characters without ':' or ','.
    static func isValidKeyID(_ id: some StringProtocol) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: ",") }
    }

    /// Parses `id:base64key,id:base64key,...` (the form of `SESSION_ENCRYPTION_KEYS`); the first key is current.
    public init(parsing text: String) throws(SessionStoreError) {
        var keys: [String: SymmetricKey] = [:]
        var first: String?
        for (index, entry) in text.split(separator: ",").enumerated() {
            let parts = entry.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let bytes = Data(base64Encoded: String(parts[1])) else {
                // Never echo the entry: without a ':' all of it may be key material. A well-formed
                // id is named; anything else is counted (it may be a key, or control characters).
                let which = parts.count == 2 && Self.isValidKeyID(parts[0]) ? "key \"\(parts[0])\"" : "entry \(index + 1)"
                throw SessionStoreError(.configurationError, "encryption keys must look like id:base64,id:base64 (the first is current); \(which) does not")
            }
            let id = String(parts[0])
            guard keys[id] == nil else { throw SessionStoreError(.configurationError, "encryption key \"\(id)\" is given twice") }
            keys[id] = SymmetricKey(data: bytes)
            if first == nil { first = id }
        }
        guard let first else { throw SessionStoreError(.configurationError, "no encryption keys given") }
        try self.init(currentKeyID: first, keys: keys)
    }

    /// A new random 256-bit key, base64-encoded, for `SESSION_ENCRYPTION_KEYS`.
    public static func generateKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Whether `data` is sealed (rather than stored as it is).
    public static func isSealed(_ data: Data) -> Bool {
        data.starts(with: magic)
    }

    /// The key id sealed `data` names, or nil when `data` is not sealed.
    public static func keyID(of data: Data) -> String? {
        guard isSealed(data), data.count > magic.count else { return nil }
        let start = data.startIndex + magic.count
        let length = Int(data[start])
        guard data.count >= magic.count + 1 + length else { return nil }
        return String(decoding: data[(start + 1)..<(start + 1 + length)], as: UTF8.self)
    }

    /// Seals `plaintext` with the current key.
    public func seal(_ plaintext: Data) throws(SessionStoreError) -> Data {
        let header = Self.header(currentKeyID)
        do {
            let box = try AES.GCM.seal(plaintext, using: keys[currentKeyID]!, authenticating: header)
            guard let combined = box.combined else {
                throw SessionStoreError(.internalError, "AES-GCM produced no combined box")
            }
            return header + combined
        } catch let error as SessionStoreError {
            throw error
        } catch {
            throw SessionStoreError(.internalError, "sealing session data failed: \(error)")
        }
    }

    /// Opens sealed data with the key it names; returns data that is not sealed as it is.
    ///
    /// - Throws: ``SessionStoreError/Code/decryptionFailed`` for tampered or truncated data, or a
    ///   key id that is not configured.
    public func open(_ stored: Data) throws(SessionStoreError) -> Data {
        guard let keyID = Self.keyID(of: stored) else {
            if Self.isSealed(stored) {
                throw SessionStoreError(.decryptionFailed, "sealed session data is truncated")
            }
            return stored
        }
        guard let key = keys[keyID] else {
            throw SessionStoreError(.decryptionFailed, "session data is sealed with key \"\(keyID)\", which is not configured")
        }
        let header = Self.header(keyID)
        do {
            let box = try AES.GCM.SealedBox(combined: stored.dropFirst(header.count))
            return try AES.GCM.open(box, using: key, authenticating: header)
        } catch {
            throw SessionStoreError(.decryptionFailed, "sealed session data failed authentication (tampered or truncated): \(error)")
        }
    }

    private static func header(_ keyID: String) -> Data {
        Data(magic) + [UInt8(keyID.utf8.count)] + Data(keyID.utf8)
    }
}

extension SessionEncryption {
    /// Data as stored, opened with `encryption`; unsealed data passes through.
    ///
    /// - Throws: ``SessionStoreError/Code/decryptionFailed`` when the data is sealed and cannot be
    ///   opened, including when `encryption` is nil.
    public static func open(_ stored: Data, using encryption: SessionEncryption?) throws(SessionStoreError) -> Data {
        if let encryption { return try encryption.open(stored) }
        guard !isSealed(stored) else {
            throw SessionStoreError(
                .decryptionFailed,
                "session data is sealed with key \"\(keyID(of: stored) ?? "?")\" but no encryption keys are configured"
            )
        }
        return stored
    }

    /// Data sealed with `encryption` for storage, or as it is when `encryption` is nil.
    public static func seal(_ data: Data, using encryption: SessionEncryption?) throws(SessionStoreError) -> Data {
        guard let encryption else { return data }
        return try encryption.seal(data)
    }
}

extension SessionPolicy {
    /// `session` with its data sealed for storage (unchanged without encryption).
    public func sealed(_ session: Session) throws(SessionStoreError) -> Session {
        guard let encryption else { return session }
        var sealed = session
        sealed.data = try encryption.seal(session.data)
        return sealed
    }

    /// `session` as stored, with its data opened.
    ///
    /// - Throws: ``SessionStoreError/Code/decryptionFailed`` when the data is sealed and cannot be opened.
    public func opened(_ session: Session) throws(SessionStoreError) -> Session {
        guard encryption != nil || SessionEncryption.isSealed(session.data) else { return session }
        var opened = session
        opened.data = try SessionEncryption.open(session.data, using: encryption)
        return opened
    }
}

/// A session token: 32 bytes from the system's cryptographically secure random number generator,
/// written as 43 base64url characters without padding.
///
/// The token is the secret a client presents (in a cookie or a header). It is never stored:
/// stores see only its SHA-256 ``hash``, computed once when the token is created or parsed.
///
/// Parsing is strict and happens before any I/O: anything other than exactly 43 characters of the
/// URL-safe alphabet, in the one canonical encoding of 32 bytes, throws ``SessionStoreError/Code/malformedToken``.
/// That keeps megabyte strings, NUL bytes and near-miss encodings away from every backend.
///
/// `description` is redacted so a token written to a log by mistake is not a live credential.
public struct SessionToken: Sendable, Hashable, CustomStringConvertible {
    /// Number of random bytes in a token.
    public static let byteCount = 32
    /// Number of characters in the encoded form.
    public static let encodedLength = 43

    private let w0: UInt64
    private let w1: UInt64
    private let w2: UInt64
    private let w3: UInt64

    /// The SHA-256 of the token's 32 bytes: its identity in every store.
    public let hash: TokenHash

    private init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
        self.hash = Swift.withUnsafeBytes(of: (w0, w1, w2, w3)) { TokenHash(digesting: $0) }
    }

    /// Mints a new token from the system CSPRNG (`getrandom(2)` on Linux).
    public static func generate() -> SessionToken {
        var generator = SystemRandomNumberGenerator()
        return SessionToken(w0: generator.next(), w1: generator.next(), w2: generator.next(), w3: generator.next())
    }

    /// Mints a token whose first 8 bytes are `selector` (big-endian) and whose other 24 bytes,
    /// 192 bits, come from the system CSPRNG.
    ///
    /// A store that keys its rows by the selector finds a session with one primary-key lookup and
    /// then compares the SHA-256 of the whole token, so the secret part is what the token's
    /// strength rests on, and the store still keeps no token, only its hash. The SQLite store
    /// mints its tokens this way, with ascending selectors, so its inserts append.
    public static func generate(selector: Int64) -> SessionToken {
        var generator = SystemRandomNumberGenerator()
        return SessionToken(w0: UInt64(bitPattern: selector).bigEndian, w1: generator.next(), w2: generator.next(), w3: generator.next())
    }

    /// The token's first 8 bytes as a big-endian number. For tokens from
    /// ``generate(selector:)`` it is the selector they were minted with; for others, 64 random bits.
    public var selector: Int64 {
        Int64(bitPattern: UInt64(bigEndian: w0))
    }

    /// A new token with the same selector and a new secret: what a rotation hands out.
    public func withNewSecret() -> SessionToken {
        SessionToken.generate(selector: selector)
    }

    /// Parses a token a client sent.
    ///
    /// - Parameter string: The 43-character base64url form.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/malformedToken``.
    public init(_ string: some StringProtocol) throws(SessionStoreError) {
        let length = string.utf8.count
        guard length == Self.encodedLength else {
            throw SessionStoreError(.malformedToken, "malformed session token: \(DecodeFailure.length(length))")
        }
        var utf8 = String(string)
        let parsed = utf8.withUTF8 { SessionToken.decode($0) }
        switch parsed {
        case .success(let words):
            self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
        case .failure(let reason):
            throw SessionStoreError(.malformedToken, "malformed session token: \(reason)")
        }
    }

    /// The 43-character base64url form to hand to the client.
    public var stringValue: String {
        Swift.withUnsafeBytes(of: (w0, w1, w2, w3)) { raw in
            String(unsafeUninitializedCapacity: Self.encodedLength) { out in
                var written = 0
                var index = 0
                while index + 3 <= raw.count {
                    let chunk = UInt32(raw[index]) << 16 | UInt32(raw[index + 1]) << 8 | UInt32(raw[index + 2])
                    for shift in stride(from: 18, through: 0, by: -6) {
                        out[written] = Base64URL.alphabet[Int((chunk >> UInt32(shift)) & 0x3F)]
                        written += 1
                    }
                    index += 3
                }
                // 32 = 10 * 3 + 2: the last two bytes make three characters.
                let chunk = UInt32(raw[index]) << 16 | UInt32(raw[index + 1]) << 8
                for shift in [18, 12, 6] {
                    out[written] = Base64URL.alphabet[Int((chunk >> UInt32(shift)) & 0x3F)]
                    written += 1
                }
                return written
            }
        }
    }

    public var description: String { "SessionToken(hash: \(hash.shortHex)…)" }

    public static func == (lhs: SessionToken, rhs: SessionToken) -> Bool { lhs.hash == rhs.hash }
    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    private enum DecodeFailure: Error, CustomStringConvertible {
        case length(Int)
        case character(offset: Int)
        case nonCanonical

        var description: String {
            switch self {
            case .length(let count):
                "expected \(SessionToken.encodedLength) base64url characters, got \(count) bytes"
            case .character(let offset):
                "character at offset \(offset) is not in the base64url alphabet (A-Z a-z 0-9 - _)"
            case .nonCanonical:
                "the last character has bits set that no 32-byte token produces"
            }
        }
    }

    private static func decode(_ input: UnsafeBufferPointer<UInt8>) -> Result<(UInt64, UInt64, UInt64, UInt64), DecodeFailure> {
        guard input.count == encodedLength else { return .failure(.length(input.count)) }
        return Base64URL.decodeTable.withUnsafeBufferPointer { table in
            // 43 characters: ten groups of four (three bytes each), then three for the last two bytes.
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var invalid: UInt32 = 0
            withUnsafeMutableBytes(of: &words) { out in
                var written = 0
                var offset = 0
                while offset < 40 {
                    let a = UInt32(table[Int(input[offset])])
                    let b = UInt32(table[Int(input[offset + 1])])
                    let c = UInt32(table[Int(input[offset + 2])])
                    let d = UInt32(table[Int(input[offset + 3])])
                    invalid |= (a | b | c | d) & 0x80
                    let group = a << 18 | b << 12 | c << 6 | d
                    out[written] = UInt8(truncatingIfNeeded: group >> 16)
                    out[written + 1] = UInt8(truncatingIfNeeded: group >> 8)
                    out[written + 2] = UInt8(truncatingIfNeeded: group)
                    written += 3
                    offset += 4
                }
                let a = UInt32(table[Int(input[40])])
                let b = UInt32(table[Int(input[41])])
                let c = UInt32(table[Int(input[42])])
                invalid |= (a | b | c) & 0x80
                let group = a << 18 | b << 12 | c << 6
                out[30] = UInt8(truncatingIfNeeded: group >> 16)
                out[31] = UInt8(truncatingIfNeeded: group >> 8)
                // 43 characters carry 258 bits; the last character's two low bits must be zero.
                if invalid == 0 && c & 0x03 != 0 { invalid = 0x100 }
            }
            if invalid & 0x80 != 0 {
                let offset = input.firstIndex { table[Int($0)] == 0xFF } ?? 0
                return .failure(.character(offset: offset))
            }
            if invalid != 0 { return .failure(.nonCanonical) }
            return .success(words)
        }
    }
}

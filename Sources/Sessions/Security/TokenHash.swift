import Crypto

/// The SHA-256 digest of a session token: the only form of a token that is ever stored or sent.
///
/// A leaked database file or Redis dump reveals no usable token, and every lookup is by digest, so
/// the time a lookup takes says nothing about how much of a guessed token was right (the reason for
/// Rack's fix of CVE-2019-16782).
///
/// The 32 bytes are held as four words: hashing and comparing them costs a few instructions and no
/// allocation, which matters on the cache-hit path.
public struct TokenHash: Sendable, Hashable, Comparable, CustomStringConvertible {
    @usableFromInline let w0: UInt64
    @usableFromInline let w1: UInt64
    @usableFromInline let w2: UInt64
    @usableFromInline let w3: UInt64

    /// The number of bytes in a digest.
    public static let byteCount = 32

    /// 32 zero bytes: no token's digest in practice; the ``SessionChange/tokenHash`` of a change
    /// that concerns a user rather than one session.
    public static let none = TokenHash(w0: 0, w1: 0, w2: 0, w3: 0)

    @usableFromInline
    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// Creates a digest from its 32 bytes, or returns nil when `bytes` is not 32 bytes long.
    public init?(bytes: [UInt8]) {
        guard let hash = bytes.withUnsafeBytes({ TokenHash(rawBytes: $0) }) else { return nil }
        self = hash
    }

    /// Creates a digest from 32 bytes in memory, or returns nil when `rawBytes` is not 32 bytes long.
    @inlinable
    public init?(rawBytes: UnsafeRawBufferPointer) {
        guard rawBytes.count == Self.byteCount else { return nil }
        self.init(
            w0: rawBytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            w1: rawBytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            w2: rawBytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            w3: rawBytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// Parses 64 hexadecimal digits (either case), or returns nil.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == Self.byteCount * 2 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Self.byteCount)
        for index in 0..<Self.byteCount {
            guard let high = HexDigit.value(utf8[2 * index]), let low = HexDigit.value(utf8[2 * index + 1]) else {
                return nil
            }
            bytes[index] = high << 4 | low
        }
        self.init(bytes: bytes)
    }

    /// The SHA-256 digest of `bytes`.
    public init(digesting bytes: UnsafeRawBufferPointer) {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        self = hasher.finalize().withUnsafeBytes { TokenHash(rawBytes: $0)! }
    }

    /// Calls `body` with the 32 digest bytes.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let words = (w0, w1, w2, w3)
        return try Swift.withUnsafeBytes(of: words, body)
    }

    /// The 32 digest bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// 64 lowercase hexadecimal digits, the form shown by `sessionctl`, the sqlite3 views and Redis keys.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: Self.byteCount * 2) { buffer in
                for (index, byte) in raw.enumerated() {
                    buffer[2 * index] = digits[Int(byte >> 4)]
                    buffer[2 * index + 1] = digits[Int(byte & 0x0F)]
                }
                return Self.byteCount * 2
            }
        }
    }

    /// The first 12 hex digits: enough to tell sessions apart in logs and tables.
    public var shortHex: String { String(hex.prefix(12)) }

    public var description: String { hex }

    @inlinable
    public static func == (lhs: TokenHash, rhs: TokenHash) -> Bool {
        (lhs.w0 ^ rhs.w0) | (lhs.w1 ^ rhs.w1) | (lhs.w2 ^ rhs.w2) | (lhs.w3 ^ rhs.w3) == 0
    }

    /// A digest is uniformly random, so one word carries all the entropy a hash table needs;
    /// the table's seeded hasher still protects against chosen collisions.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(w0)
    }

    /// Byte-wise order, the same order SQLite gives the `token_hash` BLOB column.
    public static func < (lhs: TokenHash, rhs: TokenHash) -> Bool {
        lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in l.lexicographicallyPrecedes(r) } }
    }
}

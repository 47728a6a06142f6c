/// Why a byte stream is not valid RESP. The connection that produced it cannot be trusted to be
/// in step any more and is closed.
public struct RESPDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, as a value to match on.
    public enum Reason: Sendable, Hashable {
        /// A type byte RESP does not define.
        case unknownType(UInt8)
        /// A length, count or integer that is not a valid decimal number.
        case invalidNumber
        /// A line or bulk string not terminated by CRLF.
        case missingTerminator
        /// A bulk string longer than the configured limit.
        case bulkTooLong(Int)
        /// An aggregate with more elements than the configured limit.
        case aggregateTooLong(Int)
        /// Aggregates nested deeper than the configured limit.
        case nestedTooDeep
        /// A header line longer than the configured limit.
        case lineTooLong
        /// A boolean, double, null or verbatim string with an invalid body.
        case invalidValue
        /// The stream ended in the middle of a value.
        case truncated
    }

    /// What was wrong.
    public var reason: Reason

    /// Creates an error for `reason`.
    public init(_ reason: Reason) {
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unknownType(let byte): "unknown RESP type byte 0x\(String(byte, radix: 16))"
        case .invalidNumber: "invalid number in a RESP header"
        case .missingTerminator: "RESP value not terminated by CRLF"
        case .bulkTooLong(let length): "RESP bulk string of \(length) bytes exceeds the limit"
        case .aggregateTooLong(let count): "RESP aggregate of \(count) elements exceeds the limit"
        case .nestedTooDeep: "RESP aggregates nested deeper than the limit"
        case .lineTooLong: "RESP header line exceeds the limit"
        case .invalidValue: "invalid RESP value body"
        case .truncated: "the stream ended in the middle of a RESP value"
        }
    }
}

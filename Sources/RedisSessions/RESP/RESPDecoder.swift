public import NIOCore

/// Decodes RESP2 and RESP3 values from bytes as they arrive.
///
/// A pure state-free parser: ``decode(buffer:)`` either consumes exactly one complete value,
/// or consumes nothing and returns nil when the value is not complete yet, or throws. Limits on
/// nesting depth, bulk length, aggregate length and line length bound what a hostile or broken
/// server can make it allocate or recurse into; a declared length is never trusted for
/// preallocation.
public struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    /// Bounds on what one value may contain.
    public struct Limits: Sendable, Hashable {
        /// Deepest nesting of aggregates.
        public var maxDepth: Int
        /// Longest bulk string, in bytes.
        public var maxBulkLength: Int
        /// Most elements in one aggregate.
        public var maxAggregateLength: Int
        /// Longest header line (type byte, number or simple string), in bytes.
        public var maxLineLength: Int

        /// Creates limits; each parameter sets the property of the same name.
        public init(maxDepth: Int = 32, maxBulkLength: Int = 64 << 20, maxAggregateLength: Int = 1 << 20, maxLineLength: Int = 64 << 10) {
            self.maxDepth = maxDepth
            self.maxBulkLength = maxBulkLength
            self.maxAggregateLength = maxAggregateLength
            self.maxLineLength = maxLineLength
        }
    }

    /// The bounds every decoded value is checked against.
    public let limits: Limits

    /// Creates a decoder that enforces `limits`.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        var reader = buffer
        guard let value = try parseValue(&reader, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: reader.readerIndex)
        return value
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        if let value = try decode(buffer: &buffer) { return value }
        if seenEOF && buffer.readableBytes > 0 { throw RESPDecodingError(.truncated) }
        return nil
    }

    // MARK: Parsing

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    private func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws(RESPDecodingError) -> RESPValue? {
        guard depth <= limits.maxDepth else { throw RESPDecodingError(.nestedTooDeep) }
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return try readLine(&buffer).map { .simpleString(String(buffer: $0)) }
        case UInt8(ascii: "-"):
            return try readLine(&buffer).map { .error(String(buffer: $0)) }
        case UInt8(ascii: ":"):
            guard let line = try readLine(&buffer) else { return nil }
            return .integer(try Self.number(line))
        case UInt8(ascii: "$"):
            return try readBulk(&buffer).map { $0.map(RESPValue.bulkString) ?? .null }
        case UInt8(ascii: "!"):
            guard let bulk = try readBulk(&buffer) else { return nil }
            guard let bulk else { throw RESPDecodingError(.invalidValue) }
            return .error(String(buffer: bulk))
        case UInt8(ascii: "="):
            guard let bulk = try readBulk(&buffer) else { return nil }
            guard var text = bulk, text.readableBytes >= 4,
                let format = text.readString(length: 3), text.readInteger(as: UInt8.self) == UInt8(ascii: ":")
            else { throw RESPDecodingError(.invalidValue) }
            return .verbatimString(format: format, text: text)
        case UInt8(ascii: "*"):
            return try readAggregate(&buffer, depth: depth, allowsNull: true).map { $0.map(RESPValue.array) ?? .null }
        case UInt8(ascii: "~"):
            return try readAggregate(&buffer, depth: depth, allowsNull: false).map { .set($0 ?? []) }
        case UInt8(ascii: ">"):
            return try readAggregate(&buffer, depth: depth, allowsNull: false).map { .push($0 ?? []) }
        case UInt8(ascii: "%"):
            guard let pairs = try readPairs(&buffer, depth: depth) else { return nil }
            return .map(pairs)
        case UInt8(ascii: "|"):
            // Attributes describe the value that follows; this client has no use for them.
            guard try readPairs(&buffer, depth: depth) != nil else { return nil }
            return try parseValue(&buffer, depth: depth + 1)
        case UInt8(ascii: "_"):
            guard let line = try readLine(&buffer) else { return nil }
            guard line.readableBytes == 0 else { throw RESPDecodingError(.invalidValue) }
            return .null
        case UInt8(ascii: "#"):
            guard let line = try readLine(&buffer) else { return nil }
            switch String(buffer: line) {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw RESPDecodingError(.invalidValue)
            }
        case UInt8(ascii: ","):
            guard let line = try readLine(&buffer) else { return nil }
            let text = String(buffer: line)
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let value = Double(text), text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }) else {
                    throw RESPDecodingError(.invalidValue)
                }
                return .double(value)
            }
        case UInt8(ascii: "("):
            guard let line = try readLine(&buffer) else { return nil }
            let text = String(buffer: line)
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw RESPDecodingError(.invalidNumber)
            }
            return .bigNumber(text)
        default:
            throw RESPDecodingError(.unknownType(type))
        }
    }

    /// The bytes up to the next CRLF, consuming the CRLF; nil when no CRLF has arrived yet.
    private func readLine(_ buffer: inout ByteBuffer) throws(RESPDecodingError) -> ByteBuffer? {
        let view = buffer.readableBytesView
        let searchable = view.prefix(limits.maxLineLength + 2)
        guard let lf = searchable.firstIndex(of: Self.lf) else {
            if view.count > limits.maxLineLength + 1 { throw RESPDecodingError(.lineTooLong) }
            return nil
        }
        let length = lf - view.startIndex
        guard length >= 1, view[lf - 1] == Self.cr else { throw RESPDecodingError(.missingTerminator) }
        let line = buffer.readSlice(length: length - 1)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// A `$`-style length and body. `.some(nil)` is the RESP2 null bulk string; nil means incomplete.
    private func readBulk(_ buffer: inout ByteBuffer) throws(RESPDecodingError) -> ByteBuffer?? {
        guard let line = try readLine(&buffer) else { return nil }
        let length = try Self.number(line)
        if length == -1 { return .some(nil) }
        guard length >= 0 else { throw RESPDecodingError(.invalidNumber) }
        guard length <= limits.maxBulkLength else { throw RESPDecodingError(.bulkTooLong(Int(clamping: length))) }
        guard buffer.readableBytes >= Int(length) + 2 else { return nil }
        let body = buffer.readSlice(length: Int(length))!
        guard buffer.readInteger(as: UInt8.self) == Self.cr, buffer.readInteger(as: UInt8.self) == Self.lf else {
            throw RESPDecodingError(.missingTerminator)
        }
        return .some(body)
    }

    /// The element count of an aggregate header; -1 only where RESP2 allows a null aggregate.
    private func readCount(_ buffer: inout ByteBuffer, allowsNull: Bool) throws(RESPDecodingError) -> Int? {
        guard let line = try readLine(&buffer) else { return nil }
        let count = try Self.number(line)
        if count == -1 && allowsNull { return -1 }
        guard count >= 0 else { throw RESPDecodingError(.invalidNumber) }
        guard count <= limits.maxAggregateLength else { throw RESPDecodingError(.aggregateTooLong(Int(clamping: count))) }
        return Int(count)
    }

    private func readAggregate(_ buffer: inout ByteBuffer, depth: Int, allowsNull: Bool) throws(RESPDecodingError) -> [RESPValue]?? {
        guard let count = try readCount(&buffer, allowsNull: allowsNull) else { return nil }
        if count == -1 { return .some(nil) }
        var values: [RESPValue] = []
        values.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let value = try parseValue(&buffer, depth: depth + 1) else { return nil }
            values.append(value)
        }
        return .some(values)
    }

    private func readPairs(_ buffer: inout ByteBuffer, depth: Int) throws(RESPDecodingError) -> [RESPMapEntry]? {
        guard let count = try readCount(&buffer, allowsNull: false) else { return nil }
        guard count <= limits.maxAggregateLength / 2 else { throw RESPDecodingError(.aggregateTooLong(count * 2)) }
        var pairs: [RESPMapEntry] = []
        pairs.reserveCapacity(min(count, 512))
        for _ in 0..<count {
            guard let key = try parseValue(&buffer, depth: depth + 1) else { return nil }
            guard let value = try parseValue(&buffer, depth: depth + 1) else { return nil }
            pairs.append(RESPMapEntry(key: key, value: value))
        }
        return pairs
    }

    /// A strict decimal `Int64`: optional minus sign, at least one digit, nothing else.
    private static func number(_ line: ByteBuffer) throws(RESPDecodingError) -> Int64 {
        let bytes = line.readableBytesView
        var index = bytes.startIndex
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < bytes.endIndex, bytes.endIndex - index <= 19 else { throw RESPDecodingError(.invalidNumber) }
        var value: Int64 = 0
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw RESPDecodingError(.invalidNumber) }
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = multiplied.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw RESPDecodingError(.invalidNumber) }
            value = added
            index += 1
        }
        return negative ? -value : value
    }
}

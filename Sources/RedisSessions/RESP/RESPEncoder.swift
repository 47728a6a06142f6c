public import NIOCore

/// Writes commands as RESP arrays of bulk strings, the only form Redis accepts from clients.
///
/// Lengths and integers are written as digits straight into the buffer, without making a
/// `String` for each.
public enum RESPEncoder {
    /// Appends `command` to `buffer`.
    public static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(Int64(command.arguments.count), into: &buffer)
        buffer.writeStaticString("\r\n")
        for argument in command.arguments {
            switch argument {
            case .string(let text):
                writeHeader(text.utf8.count, into: &buffer)
                buffer.writeString(text)
            case .bytes(let bytes):
                writeHeader(bytes.count, into: &buffer)
                buffer.writeBytes(bytes)
            case .buffer(let value):
                writeHeader(value.readableBytes, into: &buffer)
                buffer.writeImmutableBuffer(value)
            case .integer(let value):
                writeHeader(decimalLength(value), into: &buffer)
                writeDecimal(value, into: &buffer)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// About how many bytes `commands` take, to size the buffer once.
    static func estimatedSize(of commands: [RedisCommand]) -> Int {
        var size = 0
        for command in commands {
            size += 16
            for argument in command.arguments {
                switch argument {
                case .string(let text): size += text.utf8.count + 16
                case .bytes(let bytes): size += bytes.count + 16
                case .buffer(let value): size += value.readableBytes + 16
                case .integer: size += 36
                }
            }
        }
        return size
    }

    private static func writeHeader(_ length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(Int64(length), into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// The number of characters of `value` in decimal, its sign included.
    static func decimalLength(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            length += 1
        }
        return length
    }

    /// `value` in decimal ASCII.
    static func writeDecimal(_ value: Int64, into buffer: inout ByteBuffer) {
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = 20
            while magnitude > 0 {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[index...]))
        }
    }
}

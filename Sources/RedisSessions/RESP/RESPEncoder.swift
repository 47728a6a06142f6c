public import NIOCore

/// Writes commands as RESP arrays of bulk strings, the only form Redis accepts from clients.
public enum RESPEncoder {
    /// Appends `command` to `buffer`.
    public static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeString(String(command.arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in command.arguments {
            switch argument {
            case .string(let text):
                writeBulk(text.utf8.count, into: &buffer) { $0.writeString(text) }
            case .bytes(let bytes):
                writeBulk(bytes.count, into: &buffer) { $0.writeBytes(bytes) }
            case .buffer(let value):
                writeBulk(value.readableBytes, into: &buffer) { $0.writeImmutableBuffer(value) }
            case .integer(let value):
                let text = String(value)
                writeBulk(text.utf8.count, into: &buffer) { $0.writeString(text) }
            }
        }
    }

    private static func writeBulk(_ length: Int, into buffer: inout ByteBuffer, _ body: (inout ByteBuffer) -> Void) {
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeString(String(length))
        buffer.writeStaticString("\r\n")
        body(&buffer)
        buffer.writeStaticString("\r\n")
    }
}

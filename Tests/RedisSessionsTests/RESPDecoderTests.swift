import NIOCore
import RedisSessions
import Testing

@Suite("RESP decoder")
struct RESPDecoderTests {
    func decodeAll(_ text: String, limits: RESPDecoder.Limits = .init()) throws -> [RESPValue] {
        var decoder = RESPDecoder(limits: limits)
        var buffer = ByteBuffer(string: text)
        var values: [RESPValue] = []
        while let value = try decoder.decode(buffer: &buffer) { values.append(value) }
        #expect(buffer.readableBytes == 0, "bytes left over: \(String(buffer: buffer))")
        return values
    }

    @Test func resp2Values() throws {
        let values = try decodeAll("+OK\r\n-ERR unknown command\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*2\r\n$3\r\nfoo\r\n:1\r\n*0\r\n")
        #expect(values == [
            .simpleString("OK"), .error("ERR unknown command"), .integer(42), .integer(-7),
            .bulkString(ByteBuffer(string: "hello")), .bulkString(ByteBuffer()), .null, .null,
            .array([.bulkString(ByteBuffer(string: "foo")), .integer(1)]), .array([]),
        ])
    }

    @Test func resp3Values() throws {
        let values = try decodeAll(
            "_\r\n#t\r\n#f\r\n,3.25\r\n,inf\r\n,-inf\r\n(12345678901234567890\r\n!9\r\nERR nope!\r\n=9\r\ntxt:hello\r\n"
                + "%1\r\n+k\r\n:1\r\n~2\r\n:1\r\n:2\r\n>2\r\n+message\r\n+x\r\n|1\r\n+ttl\r\n:5\r\n+after-attribute\r\n"
        )
        #expect(values == [
            .null, .boolean(true), .boolean(false), .double(3.25), .double(.infinity), .double(-.infinity),
            .bigNumber("12345678901234567890"), .error("ERR nope!"),
            .verbatimString(format: "txt", text: ByteBuffer(string: "hello")),
            .map([RESPMapEntry(key: .simpleString("k"), value: .integer(1))]),
            .set([.integer(1), .integer(2)]), .push([.simpleString("message"), .simpleString("x")]),
            .simpleString("after-attribute"),
        ])
        let nan = try decodeAll(",nan\r\n")
        if case .double(let value) = nan[0] { #expect(value.isNaN) } else { Issue.record("expected a double") }
    }

    @Test func binaryBulkStringsKeepEveryByte() throws {
        var bytes: [UInt8] = Array(0...255)
        bytes += Array("\r\n$3\r\n*1\r\n".utf8)
        var buffer = ByteBuffer(string: "$\(bytes.count)\r\n")
        buffer.writeBytes(bytes)
        buffer.writeString("\r\n")
        var decoder = RESPDecoder()
        #expect(try decoder.decode(buffer: &buffer) == .bulkString(ByteBuffer(bytes: bytes)))
    }

    @Test func everyStrictPrefixOfAValueAsksForMoreAndConsumesNothing() throws {
        let frames = [
            "+OK\r\n", ":12345\r\n", "$11\r\nhello world\r\n", "*3\r\n$1\r\na\r\n*1\r\n:5\r\n_\r\n",
            "%2\r\n+a\r\n,1.5\r\n+b\r\n#t\r\n", "|1\r\n+x\r\n+y\r\n:9\r\n", "=7\r\ntxt:abc\r\n", "$-1\r\n",
        ]
        for frame in frames {
            let bytes = Array(frame.utf8)
            for length in 0..<bytes.count {
                var decoder = RESPDecoder()
                var buffer = ByteBuffer(bytes: bytes[..<length])
                #expect(try decoder.decode(buffer: &buffer) == nil, "\(frame.debugDescription) cut at \(length)")
                #expect(buffer.readableBytes == length, "a partial value consumed bytes")
            }
            var decoder = RESPDecoder()
            var buffer = ByteBuffer(bytes: bytes)
            #expect(try decoder.decode(buffer: &buffer) != nil)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test(arguments: [
        ("?what\r\n", RESPDecodingError.Reason.unknownType(UInt8(ascii: "?"))),
        (":12a\r\n", .invalidNumber),
        (":\r\n", .invalidNumber),
        (":99999999999999999999\r\n", .invalidNumber),
        ("$-2\r\n", .invalidNumber),
        ("$3\r\nabcXY", .missingTerminator),
        ("+OK\n", .missingTerminator),
        ("#x\r\n", .invalidValue),
        (",1.0.0\r\n", .invalidValue),
        ("_x\r\n", .invalidValue),
        ("=2\r\nab\r\n", .invalidValue),
        ("*-5\r\n", .invalidNumber),
        ("~-1\r\n", .invalidNumber),
    ])
    func malformedInputIsAClearError(_ text: String, _ reason: RESPDecodingError.Reason) {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: text)
        #expect(throws: RESPDecodingError(reason)) { try decoder.decode(buffer: &buffer) }
    }

    @Test func limitsBoundDepthLengthAndLines() {
        let limits = RESPDecoder.Limits(maxDepth: 3, maxBulkLength: 10, maxAggregateLength: 4, maxLineLength: 16)
        func failure(_ text: String) -> RESPDecodingError.Reason? {
            var decoder = RESPDecoder(limits: limits)
            var buffer = ByteBuffer(string: text)
            do {
                _ = try decoder.decode(buffer: &buffer)
                return nil
            } catch {
                return (error as? RESPDecodingError)?.reason
            }
        }
        #expect(failure("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n") == .nestedTooDeep)
        #expect(failure("*1\r\n*1\r\n*1\r\n:1\r\n") == nil)
        #expect(failure("$11\r\n") == .bulkTooLong(11), "rejected from the header, before the body arrives")
        #expect(failure("*5\r\n") == .aggregateTooLong(5))
        #expect(failure("*1000000000\r\n") == .aggregateTooLong(1_000_000_000))
        #expect(failure("+" + String(repeating: "x", count: 40)) == .lineTooLong)
        #expect(failure("%3\r\n") == .aggregateTooLong(6))
    }

    /// Random bytes, and random mutations of valid frames: the decoder always ends in a value, a
    /// request for more bytes, or an error, and never loops, crashes or consumes bytes it did not
    /// decode.
    @Test func fuzzedInputNeverCrashesOrHangs() {
        var generator = SystemRandomNumberGenerator()
        let seeds = [
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", "%1\r\n+a\r\n*2\r\n:1\r\n,2.5\r\n", "|1\r\n+a\r\n+b\r\n>1\r\n#t\r\n",
            "=6\r\ntxt:ab\r\n", "$-1\r\n*-1\r\n_\r\n(123\r\n!3\r\nERR\r\n",
        ]
        var outcomes = (values: 0, incomplete: 0, errors: 0)
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round.isMultiple(of: 2) {
                bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in
                    Bool.random(using: &generator) ? UInt8.random(in: 0...255, using: &generator)
                        : Array("+-:$*_#,(!=%~>|\r\n0123456789".utf8).randomElement(using: &generator)!
                }
            } else {
                bytes = Array(seeds.randomElement(using: &generator)!.utf8)
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let index = Int.random(in: 0..<bytes.count, using: &generator)
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0: bytes[index] = UInt8.random(in: 0...255, using: &generator)
                    case 1: bytes.remove(at: index)
                    default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                    }
                    if bytes.isEmpty { break }
                }
            }
            var decoder = RESPDecoder(limits: .init(maxDepth: 8, maxBulkLength: 1 << 16, maxAggregateLength: 1 << 12, maxLineLength: 256))
            var buffer = ByteBuffer(bytes: bytes)
            var steps = 0
            while steps < bytes.count + 1 {
                steps += 1
                let before = buffer.readableBytes
                do {
                    guard try decoder.decode(buffer: &buffer) != nil else {
                        #expect(buffer.readableBytes == before)
                        outcomes.incomplete += 1
                        break
                    }
                    #expect(buffer.readableBytes < before, "a value must consume bytes")
                    outcomes.values += 1
                } catch {
                    outcomes.errors += 1
                    break
                }
            }
            #expect(steps <= bytes.count + 1, "the decoder did not make progress")
        }
        #expect(outcomes.values > 0 && outcomes.incomplete > 0 && outcomes.errors > 0)
    }
}

@Suite("RESP encoder")
struct RESPEncoderTests {
    @Test func commandsAreArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(RedisCommand("SET", "key", .bytes([0, 13, 10, 255]), "PXAT", 1_767_225_600_000), into: &buffer)
        var expected = ByteBuffer(string: "*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\n")
        expected.writeBytes([0, 13, 10, 255])
        expected.writeString("\r\n$4\r\nPXAT\r\n$13\r\n1767225600000\r\n")
        #expect(buffer == expected)
    }

    @Test func integersAreWrittenAsTheirDecimalDigits() {
        for value: Int64 in [0, 7, -7, 10, 99, 100, -100, 1_767_225_600_000, .max, .min] {
            var buffer = ByteBuffer()
            RESPEncoder.encode(RedisCommand("X", .integer(value)), into: &buffer)
            let text = String(value)
            #expect(String(buffer: buffer) == "*2\r\n$1\r\nX\r\n$\(text.utf8.count)\r\n\(text)\r\n", "\(value)")
        }
        var many = ByteBuffer()
        RESPEncoder.encode(RedisCommand("MGET", (0..<12).map { .string("k\($0)") }), into: &many)
        #expect(String(buffer: many).hasPrefix("*13\r\n$4\r\nMGET\r\n$2\r\nk0\r\n"))
    }

    @Test func unicodeIsCountedInBytes() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(RedisCommand("GET", "clé🔑"), into: &buffer)
        #expect(String(buffer: buffer) == "*2\r\n$3\r\nGET\r\n$8\r\nclé🔑\r\n")
    }

    @Test func whatTheEncoderWritesTheDecoderReads() throws {
        var buffer = ByteBuffer()
        RESPEncoder.encode(RedisCommand("HSET", "h", "f", .buffer(ByteBuffer(string: "v\r\n"))), into: &buffer)
        var decoder = RESPDecoder()
        let value = try decoder.decode(buffer: &buffer)
        #expect(value?.elements?.compactMap(\.string) == ["HSET", "h", "f", "v\r\n"])
    }
}

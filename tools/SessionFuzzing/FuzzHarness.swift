import Foundation
import NIOCore
import Sessions
import RedisSessions
import SQLiteSessions

/// The parsers that face the network or operator input, each as a libFuzzer target.
///
/// A harness feeds the input to its parser and checks what must hold whatever the input: no
/// crash, and the parser's own promises (a token that parses prints back as itself, a RESP value
/// decodes the same however the bytes arrive, an error message never repeats a secret). A broken
/// promise is a ``Finding``; `sessionfuzz` turns it into a crash that libFuzzer saves, and the
/// regression tests replay every saved input.
public enum FuzzHarness: String, CaseIterable, Sendable {
    /// `RESPDecoder`, on bytes as a server might send them.
    case resp
    /// `SessionToken(_:)`, on a cookie value.
    case token
    /// `SessionRecordLines`, on an export file as `sessionctl import` reads it.
    case importLine = "import-line"
    /// `SessionEncryption(parsing:)`, on `SESSION_ENCRYPTION_KEYS` text.
    case keys
    /// `DurationText.parse`, on an environment variable's duration.
    case duration
    /// `RedisConfiguration(url:)`, on `SESSION_REDIS_URL` text.
    case redisURL = "redis-url"

    /// A promise the parser broke on an input.
    public struct Finding: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs one input.
    ///
    /// - Throws: ``Finding`` when the parser broke a promise.
    public func run(_ input: [UInt8]) throws(Finding) {
        switch self {
        case .resp: try Self.resp(input)
        case .token: try Self.token(input)
        case .importLine: try Self.importLine(input)
        case .keys: try Self.keys(input)
        case .duration: try Self.duration(input)
        case .redisURL: try Self.redisURL(input)
        }
    }

    private static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(Finding) {
        if !condition { throw Finding(description: message()) }
    }

    /// Whether `text` holds `part`, byte for byte (Foundation's `contains` stops at a NUL).
    private static func contains(_ text: String, _ part: some StringProtocol) -> Bool {
        Array(text.utf8).firstRange(of: Array(part.utf8)) != nil
    }

    // MARK: RESP

    private enum Decoded: Equatable {
        case values([RESPValue], failed: Bool)
    }

    /// Decodes everything `chunks` delivers, one chunk after another, as a connection would.
    private static func decodeAll(_ chunks: [ArraySlice<UInt8>]) -> Decoded {
        var decoder = RESPDecoder(limits: .init(maxDepth: 16, maxBulkLength: 1 << 16, maxAggregateLength: 1 << 12, maxLineLength: 1 << 12))
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            do {
                while let value = try decoder.decode(buffer: &buffer) { values.append(value) }
            } catch {
                return .values(values, failed: true)
            }
        }
        return .values(values, failed: false)
    }

    private static func resp(_ input: [UInt8]) throws(Finding) {
        let whole = decodeAll([input[...]])
        // The first byte picks where the stream is cut in two: the values must not depend on it.
        let cut = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
        let split = decodeAll([input[..<cut], input[cut...]])
        try check(whole == split, "decoding in one piece gave \(whole), cut at \(cut) gave \(split)")
    }

    // MARK: Tokens

    private static func token(_ input: [UInt8]) throws(Finding) {
        let text = String(decoding: input, as: UTF8.self)
        guard let token = try? SessionToken(text) else { return }
        try check(token.stringValue == text, "\"\(text)\" parsed but prints as \"\(token.stringValue)\"")
        let again = try? SessionToken(token.stringValue)
        try check(again == token && again?.selector == token.selector, "\"\(text)\" does not parse back to itself")
        let rotated = token.withNewSecret()
        try check(rotated.selector == token.selector && rotated != token, "a new secret for \"\(text)\" changed the selector or kept the token")
    }

    // MARK: Import lines

    private static let importPolicy = SessionPolicy()

    private static func importLine(_ input: [UInt8]) throws(Finding) {
        // The first byte picks the size of the chunks the file arrives in.
        let chunkSize = input.isEmpty ? 1 : 1 + Int(input[0]) % 64
        var offset = 0
        var lines = SessionRecordLines {
            defer { offset = min(input.count, offset + chunkSize) }
            return Data(input[offset..<min(input.count, offset + chunkSize)])
        }
        var rebuilt: [UInt8] = []
        var expectedNumber = 1
        while true {
            let line: SessionRecordLines.Line?
            do { line = try lines.next() } catch { throw Finding(description: "reading lines threw \(error)") }
            guard let line else { break }
            try check(line.number == expectedNumber, "line \(line.number) came where \(expectedNumber) was due")
            expectedNumber += 1
            if !rebuilt.isEmpty || line.number > 1 { rebuilt.append(UInt8(ascii: "\n")) }
            rebuilt.append(contentsOf: line.bytes)
            guard let session = try? SessionRecordLines.session(from: line.bytes, policy: importPolicy) else { continue }
            // What import accepts is what export writes back.
            let record = SessionRecord(session)
            let reread = try? SessionRecord.decode(String(decoding: try! JSONEncoder().encode(record), as: UTF8.self)).session()
            try check(reread == session, "line \(line.number) imports as \(session) but exports as \(String(describing: reread))")
        }
        let expected = input.last == UInt8(ascii: "\n") ? Array(input.dropLast()) : input
        try check(rebuilt == expected, "the lines do not add up to the file")
    }

    // MARK: Encryption keys

    private static func keys(_ input: [UInt8]) throws(Finding) {
        let text = String(decoding: input, as: UTF8.self)
        do {
            let encryption = try SessionEncryption(parsing: text)
            let plain = Data("{\"cart\":[1,2]}".utf8)
            let sealed = try encryption.seal(plain)
            try check(SessionEncryption.isSealed(sealed), "sealed data is not marked sealed")
            try check(try encryption.open(sealed) == plain, "sealed data did not open to what was sealed")
        } catch let error as Finding {
            throw error
        } catch let error as SessionStoreError {
            // Key material never reaches an error message (which ends up in logs).
            for entry in text.split(separator: ",") where entry.utf8.count >= 16 {
                let parts = entry.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                // The key id may be shown; what follows it may not (unless the id holds it too).
                let secret = parts.count == 2 ? parts[1] : entry
                let shown = parts.count == 2 ? parts[0] : ""
                try check(secret.utf8.count < 16 || contains(String(shown), secret) || !contains(error.message, secret), "the error \"\(error.message)\" repeats key material")
            }
        } catch {
            throw Finding(description: "unexpected error \(error)")
        }
    }

    // MARK: Durations

    private static func duration(_ input: [UInt8]) throws(Finding) {
        let text = String(decoding: input, as: UTF8.self)
        guard let duration = try? DurationText.parse(text, name: "SESSION_FUZZ") else { return }
        try check(duration >= .zero, "\"\(text)\" parsed as a negative duration \(duration)")
    }

    // MARK: Redis URLs

    private static func redisURL(_ input: [UInt8]) throws(Finding) {
        let text = String(decoding: input, as: UTF8.self)
        switch Result(catching: { () throws(SessionStoreError) in try RedisConfiguration(url: text) }) {
        case .success(let configuration):
            try check((1...65535).contains(configuration.port), "\"\(text)\" parsed with port \(configuration.port)")
            try check(configuration.database >= 0, "\"\(text)\" parsed with database \(configuration.database)")
            try check(!configuration.host.isEmpty, "\"\(text)\" parsed with an empty host")
        case .failure(let error):
            // A password never reaches an error message.
            guard let password = URLComponents(string: text)?.password, password.utf8.count >= 8,
                  // (A password that also spells part of the host or scheme may show there.)
                  text.lowercased().components(separatedBy: password.lowercased()).count == 2 else { return }
            guard contains(error.message, password) else { return }
            // The message may hold the same letters for another reason (its own words): then the
            // message for the URL with another password holds them too.
            let masked = text.replacingOccurrences(of: password, with: String(repeating: "\u{1}", count: password.count))
            var other = ""
            do throws(SessionStoreError) { _ = try RedisConfiguration(url: masked) } catch { other = error.message }
            try check(contains(other, password), "the error \"\(error.message)\" repeats the password")
        }
    }
}

public import Foundation

/// Reads `sessionctl export` files (one ``SessionRecord`` per line) in chunks, so memory stays
/// flat however large the file, and turns each line into a session that may be imported.
///
/// ```swift
/// var lines = SessionRecordLines(FileHandle(forReadingAtPath: path)!)
/// while let line = try lines.next() {
///     guard let session = try? SessionRecordLines.session(from: line.bytes, policy: policy) else { continue }
/// }
/// ```
public struct SessionRecordLines {
    /// One line, without its newline.
    public struct Line {
        /// 1-based.
        public let number: Int
        /// The line's bytes, a slice of the reader's buffer.
        public let bytes: ArraySlice<UInt8>
    }

    private let read: () throws -> Data?
    private var buffer: [UInt8] = []
    private var start = 0
    private var number = 0
    private var finished = false

    /// Reads from `read`, which returns the next chunk of the input, or nil or empty data at its end.
    public init(reading read: @escaping () throws -> Data?) {
        self.read = read
    }

    /// Reads a file in chunks of 1 MiB.
    public init(_ handle: FileHandle) {
        self.init { try handle.read(upToCount: 1 << 20) }
    }

    /// The next line and its number; nil at the end. A last line without a newline counts.
    public mutating func next() throws -> Line? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<newline]
                start = newline + 1
                number += 1
                return Line(number: number, bytes: line)
            }
            if finished {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                number += 1
                return Line(number: number, bytes: line)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try read() ?? Data()
            if chunk.isEmpty { finished = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    /// The session a line holds, checked as an import must check it
    /// (``SessionPolicy/validateImported(_:)``); nil for a blank line.
    ///
    /// - Throws: ``SessionStoreError`` saying what is wrong with the line.
    public static func session(from line: ArraySlice<UInt8>, policy: SessionPolicy) throws(SessionStoreError) -> Session? {
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { return nil }
        let session = try SessionRecord.decode(String(decoding: line, as: UTF8.self)).session()
        try policy.validateImported(session)
        return session
    }
}

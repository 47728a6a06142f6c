import ArgumentParser
import Foundation
import RedisSessions
import Sessions
import SQLiteSessions

/// `sessionctl sync`: where each host that shares sessions through one Redis stands in the
/// change stream, and how far behind it is.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Show how far each host sharing sessions through Redis has applied the change stream.",
        discussion: """
            Reads this file's own position (stream_cursors) and, from Redis, the stream's end and the \
            position every host last reported (each reports about once a second while it follows the \
            stream). A host far behind, or whose report is old, is cut off or down.
            """
    )

    @OptionGroup var options: StoreOptions

    @Option(help: "The Redis the hosts share (default: $SESSION_REPLICATE_TO).")
    var redis: String?

    @Option(help: "The key prefix the hosts use (default: $SESSION_KEY_PREFIX, else none).")
    var prefix: String?

    struct Report: Codable {
        var file: [FilePosition]
        var stream: StreamEnd?
        var hosts: [HostPosition]
    }

    struct FilePosition: Codable {
        var name: String
        var position: String
        var sequence: Int64
        var secondsSinceApplied: Double
    }

    struct StreamEnd: Codable {
        var lastID: String
        var sequence: Int64
        var length: Int64
    }

    struct HostPosition: Codable {
        var name: String
        var tag: Int64?
        var position: String
        var sequence: Int64
        var entriesBehind: Int64?
        var millisecondsBehind: Int64?
        var secondsSinceReport: Double
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var report = Report(file: [], stream: nil, hosts: [])
        let now = SystemSessionClock().now
        if FileManager.default.fileExists(atPath: options.path) {
            let store = try options.openForReading()
            for (name, position, updatedAt) in try await store.streamPositions() {
                report.file.append(FilePosition(
                    name: name.hasPrefix("stream:") ? String(name.dropFirst(7)) : name,
                    position: position.id, sequence: position.sequence,
                    secondsSinceApplied: Double((now - updatedAt).wholeMilliseconds) / 1000
                ))
            }
            try await store.close()
        }
        if let url = redis ?? environment["SESSION_REPLICATE_TO"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let keys = RedisSessionKeys(prefix: prefix ?? environment["SESSION_KEY_PREFIX"] ?? "")
            let client = try RedisClient(url: url)
            defer { client.close() }
            let replies = try await client.pipeline([
                RedisCommand("XREVRANGE", .string(keys.changeStream), "+", "-", "COUNT", 1),
                RedisCommand("GET", .string(keys.changeSequence)),
                RedisCommand("XLEN", .string(keys.changeStream)),
                RedisCommand("HGETALL", .string(keys.hostPositions)),
                RedisCommand("HGETALL", .string(keys.hosts)),
            ])
            for reply in replies {
                if case .error(let message) = reply { throw SessionStoreError(.protocolError, "Redis refused a query: \(message)") }
            }
            let lastID = replies[0].elements?.first?.elements?.first?.string ?? "0-0"
            let end = StreamEnd(lastID: lastID, sequence: replies[1].integer ?? 0, length: replies[2].integer ?? 0)
            report.stream = end
            var tags: [String: Int64] = [:]
            let registry = Self.pairs(replies[4])
            for (field, value) in registry where field.hasPrefix("name:") { tags[String(field.dropFirst(5))] = Int64(value) }
            let endMilliseconds = Int64(lastID.split(separator: "-").first ?? "0") ?? 0
            for (name, text) in Self.pairs(replies[3]).sorted(by: { $0.0 < $1.0 }) {
                let parts = text.split(separator: " ")
                guard parts.count == 3, let sequence = Int64(parts[1]), let reported = Int64(parts[2]) else { continue }
                let positionMilliseconds = Int64(parts[0].split(separator: "-").first ?? "0") ?? 0
                report.hosts.append(HostPosition(
                    name: name, tag: tags[name], position: String(parts[0]), sequence: sequence,
                    entriesBehind: max(0, end.sequence - sequence),
                    millisecondsBehind: positionMilliseconds > 0 ? max(0, endMilliseconds - positionMilliseconds) : nil,
                    secondsSinceReport: Double(now.millisecondsSince1970 - reported) / 1000
                ))
            }
        } else if report.file.isEmpty {
            throw SessionStoreError(.notFound, "this file follows no stream and no Redis was given (--redis URL or $SESSION_REPLICATE_TO)")
        }
        if options.json {
            try printJSON(report)
            return
        }
        for position in report.file {
            print("this file (\(position.name)): at \(position.position) (#\(position.sequence)), last applied \(Self.seconds(position.secondsSinceApplied)) ago")
        }
        if let stream = report.stream {
            print("stream: last entry \(stream.lastID) (#\(stream.sequence)), \(stream.length) entries kept")
            var table = TextTable(["host", "tag", "position", "entries behind", "time behind", "reported"], rightAligned: [1, 3, 4, 5])
            for host in report.hosts {
                table.append([
                    host.name, host.tag.map(String.init) ?? "-", "\(host.position) (#\(host.sequence))",
                    host.entriesBehind.map(String.init) ?? "-", host.millisecondsBehind.map { "\($0) ms" } ?? "-",
                    Self.seconds(host.secondsSinceReport) + " ago",
                ])
            }
            print(table.render())
        }
    }

    private static func pairs(_ reply: RESPValue) -> [(String, String)] {
        if case .map(let entries) = reply {
            return entries.compactMap { entry in entry.key.string.flatMap { key in entry.value.string.map { (key, $0) } } }
        }
        let flat = reply.elements ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
            flat[index].string.flatMap { key in flat[index + 1].string.map { (key, $0) } }
        }
    }

    private static func seconds(_ value: Double) -> String {
        String(format: "%.1f s", value)
    }
}

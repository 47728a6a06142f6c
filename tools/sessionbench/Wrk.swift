import ChildProcesses
import Foundation

/// Runs wrk (Debian's `wrk`) against a server on 127.0.0.1 and reads its figures.
///
/// Every request goes through a Lua script, which picks the next session (round robin over the
/// sessions given: its cookie and CSRF token) and reports requests, duration, latency percentiles and errors as
/// one JSON line from wrk's `done` hook.
struct Wrk {
    struct Figures: Decodable {
        var requests: Int
        var duration_us: Double
        var p50_us: Double
        var p99_us: Double
        var errors: Int
        var bad_status: Int

        var requestsPerSecond: Double { Double(requests) / max(duration_us / 1e6, 1e-9) }
    }

    /// A signed-in browser: what it sends with each request.
    struct Session {
        /// A whole `Cookie` header value.
        var cookie: String
        /// Sent as `X-CSRF-Token`; nil for a site whose pages carry none.
        var csrfToken: String?
    }

    struct Request {
        var method: String
        var path: String
        var body: String?
        /// Round robin over these; none for requests without a session.
        var sessions: [Session]
    }

    static var isInstalled: Bool { ChildProcess.find("wrk") != nil }

    let directory: URL

    /// Drives `request` at the server for `seconds` from `connections` connections on one thread.
    func run(_ request: Request, port: Int, seconds: Int, connections: Int = 32) throws -> Figures {
        let script = directory.appendingPathComponent("wrk-\(UUID().uuidString).lua")
        try luaScript(for: request).write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        guard let wrk = ChildProcess.find("wrk") else { throw BenchmarkFailure("wrk is not installed (tools/setup installs it)") }
        let child = try ChildProcess(
            wrk,
            ["-t1", "-c\(connections)", "-d\(seconds)s", "--timeout", "10s", "-s", script.path, "http://127.0.0.1:\(port)"],
            environment: ProcessInfo.processInfo.environment,
            standardInput: .null,
            standardOutput: .pipe,
            standardError: .pipe
        )
        let (output, error) = try child.collectOutput()
        let text = String(decoding: output, as: UTF8.self)
        guard child.wait() == .exited(0), let line = text.split(separator: "\n").first(where: { $0.hasPrefix("JSON ") }) else {
            throw BenchmarkFailure("wrk failed: \(text) \(String(decoding: error, as: UTF8.self))")
        }
        return try JSONDecoder().decode(Figures.self, from: Data(line.dropFirst(5).utf8))
    }

    private func luaScript(for request: Request) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let cookies = request.sessions.map { quoted($0.cookie) }.joined(separator: ",\n  ")
        let tokens = request.sessions.map { $0.csrfToken.map(quoted) ?? "false" }.joined(separator: ",\n  ")
        return """
            local cookies = {
              \(cookies)
            }
            local tokens = {
              \(tokens)
            }
            local counter = 0
            local method = \(quoted(request.method))
            local path = \(quoted(request.path))
            local body = \(request.body.map(quoted) ?? "nil")

            request = function()
              local headers = {}
              if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
              if #cookies > 0 then
                counter = counter + 1
                local index = (counter % #cookies) + 1
                headers["Cookie"] = cookies[index]
                if tokens[index] then headers["X-CSRF-Token"] = tokens[index] end
              end
              return wrk.format(method, path, headers, body)
            end

            done = function(summary, latency, requests)
              local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
              io.write(string.format('JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"bad_status":%d}\\n',
                summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors, summary.errors.status))
            end
            """
    }
}

#if Hummingbird
import ChildProcesses
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// One HTTP/1.1 request to a server on 127.0.0.1, over a connection of its own.
func localHTTP(
    _ method: HTTPRequest.Method,
    port: Int,
    _ path: String,
    headers: HTTPFields = [:],
    body: String? = nil
) async throws -> TestClient.Response {
    try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        try await client.execute(
            TestClient.Request(path, method: method, authority: "127.0.0.1:\(port)", headers: headers, body: body.map { ByteBuffer(string: $0) })
        )
    }
}

extension TestClient.Response {
    /// The body as text.
    var text: String { body.map { String(buffer: $0) } ?? "" }
}

/// A WebDriver (W3C) client for chromedriver: just the commands the browser test needs.
struct WebDriver: Sendable {
    let port: Int
    let session: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts a headless Chromium with its own profile directory.
    static func start(driverPort port: Int, profile: URL) async throws -> WebDriver {
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": ChildProcess.find("chromium") ?? "/usr/bin/chromium",
                        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--user-data-dir=\(profile.path)"],
                    ],
                ]
            ]
        ]
        let value = try await command(port: port, .post, "/session", capabilities)
        guard let session = (value as? [String: Any])?["sessionId"] as? String else {
            throw Failure(description: "chromedriver did not start a session: \(value)")
        }
        return WebDriver(port: port, session: session)
    }

    /// Whether chromedriver answers on `port`.
    static func isReady(port: Int) async -> Bool {
        guard let value = try? await command(port: port, .get, "/status", nil) as? [String: Any] else { return false }
        return value["ready"] as? Bool == true
    }

    func open(_ url: String) async throws {
        _ = try await Self.command(port: port, .post, "/session/\(session)/url", ["url": url])
    }

    /// The element a CSS selector finds first.
    func element(_ selector: String) async throws -> String {
        let value = try await Self.command(port: port, .post, "/session/\(session)/element", ["using": "css selector", "value": selector])
        guard let element = (value as? [String: Any])?.values.first as? String else {
            throw Failure(description: "no element \(selector): \(value)")
        }
        return element
    }

    /// Every element a CSS selector finds.
    func elements(_ selector: String) async throws -> [String] {
        let value = try await Self.command(port: port, .post, "/session/\(session)/elements", ["using": "css selector", "value": selector])
        return (value as? [[String: Any]] ?? []).compactMap { $0.values.first as? String }
    }

    func click(_ selector: String) async throws {
        let element = try await element(selector)
        _ = try await Self.command(port: port, .post, "/session/\(session)/element/\(element)/click", [String: Any]())
    }

    func clickElement(_ element: String) async throws {
        _ = try await Self.command(port: port, .post, "/session/\(session)/element/\(element)/click", [String: Any]())
    }

    func type(_ text: String, into selector: String) async throws {
        let element = try await element(selector)
        _ = try await Self.command(port: port, .post, "/session/\(session)/element/\(element)/value", ["text": text])
    }

    func text(of selector: String) async throws -> String {
        let element = try await element(selector)
        return try await Self.command(port: port, .get, "/session/\(session)/element/\(element)/text", nil) as? String ?? ""
    }

    func attribute(_ name: String, of element: String) async throws -> String? {
        try await Self.command(port: port, .get, "/session/\(session)/element/\(element)/attribute/\(name)", nil) as? String
    }

    /// Whether the page has an element for the selector.
    func has(_ selector: String) async throws -> Bool {
        try await !elements(selector).isEmpty
    }

    /// Waits (up to 15 s, polling) until the page has an element for the selector: a click that
    /// submits a form returns before the next page has loaded.
    @discardableResult
    func waitFor(_ selector: String) async throws -> Bool {
        for _ in 0..<300 {
            if try await has(selector) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// The browser's cookies for the current page, by name.
    func cookies() async throws -> [String: [String: Any]] {
        let value = try await Self.command(port: port, .get, "/session/\(session)/cookie", nil)
        var cookies: [String: [String: Any]] = [:]
        for cookie in value as? [[String: Any]] ?? [] {
            if let name = cookie["name"] as? String { cookies[name] = cookie }
        }
        return cookies
    }

    func quit() async {
        _ = try? await Self.command(port: port, .delete, "/session/\(session)", nil)
    }

    private static func command(port: Int, _ method: HTTPRequest.Method, _ path: String, _ body: Any?) async throws -> Any {
        let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        let response = try await localHTTP(method, port: port, path, headers: [.contentType: "application/json"], body: text)
        let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8))
        let value = (object as? [String: Any])?["value"] ?? NSNull()
        if response.status.code >= 400 {
            throw Failure(description: "\(method) \(path): \(response.status.code) \(value)")
        }
        return value
    }
}
#endif

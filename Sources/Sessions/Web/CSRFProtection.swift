import Foundation

/// Protection against cross-site request forgery that comes with the session, checked by the
/// Hummingbird and Vapor integrations before the handler of every request with an unsafe method
/// (anything but GET, HEAD, OPTIONS and TRACE).
///
/// Two lines of defence, as the OWASP CSRF Prevention Cheat Sheet advises:
/// 1. **Where the request comes from.** A browser says so in `Sec-Fetch-Site`: only
///    `same-origin` (and `none`, a request the user typed) passes. A browser too old to send it
///    sends `Origin`, which must name this host (or one of ``trustedOrigins``).
///    `SameSite=Lax` cookies already stop most cross-site posts, but not one from a sibling
///    subdomain (same site, other origin); this stops those too.
/// 2. **A token only the page could know** (a synchronizer token). A request that arrives with a
///    session must send the session's token (``RequestSession/csrfToken()``, 32 random bytes
///    kept in the session's metadata) back in the form field ``fieldName`` or the header
///    ``headerName``. A request without a session has nothing of the user's to act on; the first
///    line alone judges it (a login form posted by a cross-site page is refused there), as it
///    judges a session from before the protection was on until one of its pages issues a token.
///
/// A login gives the session a new token with its new session token, so a session planted before
/// the login (a cookie set over plain HTTP, or by a sibling subdomain when the cookie has no
/// `__Host-` prefix) carries no token its planter knows; forms rendered before the login must be
/// rendered again. A plain ``RequestSession/rotate()`` keeps the token.
///
/// Routes that other clients call with their own credentials (an API with bearer tokens) are
/// exempted with ``exempt``. A `multipart/form-data` body is not searched for the token: send
/// it in the header from a script, or exempt the upload route and check the token yourself.
public struct CSRFProtection: Sendable {
    /// Whether requests are checked at all.
    public var isEnabled: Bool
    /// The form field that carries the token (`application/x-www-form-urlencoded`).
    public var fieldName: String
    /// The header that carries the token (for `fetch` and other scripts).
    public var headerName: String
    /// Origins besides the request's own host that may post (`https://admin.example.com`):
    /// scheme, host and any port, no path. A browser says such a post is `same-site` or
    /// `cross-site`; it passes the first line when its `Origin` is one of these.
    public var trustedOrigins: Set<String> {
        didSet { trustedOrigins = Set(trustedOrigins.map(Self.normalized)) }
    }
    /// Requests not checked, by method and path: an API route authenticated otherwise.
    public var exempt: @Sendable (_ method: String, _ path: String) -> Bool

    /// Creates a protection; each parameter sets the property of the same name (trusted origins are
    /// stored lowercased, without a trailing slash or the scheme's default port).
    public init(
        isEnabled: Bool = true,
        fieldName: String = "_csrf",
        headerName: String = "X-CSRF-Token",
        trustedOrigins: Set<String> = [],
        exempt: @escaping @Sendable (_ method: String, _ path: String) -> Bool = { _, _ in false }
    ) {
        self.isEnabled = isEnabled
        self.fieldName = fieldName
        self.headerName = headerName
        self.trustedOrigins = Set(trustedOrigins.map(Self.normalized))
        self.exempt = exempt
    }

    /// Both checks, on every unsafe request.
    public static let standard = CSRFProtection()

    /// No checks: for an API that only other programs call, or for tests of something else.
    public static let disabled = CSRFProtection(isEnabled: false)

    /// The same checks, with the requests under one of `prefixes` exempt: `/api` exempts `/api`
    /// and `/api/…`, not `/apikeys`.
    public static func exempting(pathsStartingWith prefixes: [String]) -> CSRFProtection {
        let folders = prefixes.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        return CSRFProtection(exempt: { _, path in
            folders.contains { folder in path == folder || (path.hasPrefix(folder) && path.utf8.dropFirst(folder.utf8.count).first == UInt8(ascii: "/")) }
        })
    }

    /// The metadata key the session's token is kept under.
    public static let metadataKey = "csrf_token"

    /// Why a request was refused.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        /// What was wrong, for the log (the client gets a plain 403).
        public let reason: String

        public var description: String { "cross-site request refused: \(reason)" }
    }

    /// What a request says about itself, as the integration read it.
    public struct Request: Sendable {
        /// The HTTP method (`POST`, `GET`...).
        public var method: String
        /// The request path, without the query.
        public var path: String
        /// The `Host` header (or the HTTP/2 `:authority`).
        public var host: String?
        /// The `Sec-Fetch-Site` header: `same-origin`, `same-site`, `cross-site` or `none`.
        public var secFetchSite: String?
        /// The `Origin` header: `https://shop.example`, or `null` from a sandboxed page.
        public var origin: String?
        /// The token in ``CSRFProtection/headerName``, if sent.
        public var headerToken: String?

        /// Creates a request description; each parameter sets the property of the same name.
        public init(method: String, path: String, host: String?, secFetchSite: String?, origin: String?, headerToken: String?) {
            self.method = method
            self.path = path
            self.host = host
            self.secFetchSite = secFetchSite
            self.origin = origin
            self.headerToken = headerToken
        }
    }

    /// Whether `request` must be checked at all.
    public func applies(to request: Request) -> Bool {
        isEnabled && !Self.isSafe(request.method) && !exempt(request.method, request.path)
    }

    /// Checks a request that ``applies(to:)``.
    ///
    /// - Parameters:
    ///   - request: What the check reads of the request.
    ///   - expected: The token of the session the request arrived with; nil when it arrived
    ///     without one, or its session has none yet (a session from before CSRF protection was
    ///     on, until a page of it calls ``RequestSession/csrfToken()``): then the first line alone
    ///     judges the request.
    ///   - formBody: Reads the request's form body when the token did not come in the header;
    ///     nil when the body is not `application/x-www-form-urlencoded`.
    /// - Throws: ``Refusal`` naming what failed.
    public func check(_ request: Request, expected: String?, formBody: () async throws -> [UInt8]?) async throws {
        switch request.secFetchSite?.lowercased() {
        case "same-origin", "none":
            break
        case let site?:
            guard let origin = request.origin, trustedOrigins.contains(Self.normalized(origin)) else {
                throw Refusal(reason: "Sec-Fetch-Site is \(site.prefix(20)), from \(request.origin?.prefix(80) ?? "no Origin")")
            }
        case nil:
            if let origin = request.origin, !isTrusted(origin: origin, host: request.host) {
                throw Refusal(reason: "Origin \(origin.prefix(80)) is not this host")
            }
        }
        guard let expected, !expected.isEmpty else { return }
        var submitted = request.headerToken
        if submitted == nil, let body = try await formBody() {
            submitted = Self.formValue(named: fieldName, in: body)
        }
        guard let submitted, Self.constantTimeEquals(submitted, expected) else {
            throw Refusal(reason: submitted == nil ? "no token in \(fieldName) or \(headerName)" : "the token does not match the session's")
        }
    }

    /// Whether a body with this `Content-Type` is a form the token is looked for in.
    public static func isForm(contentType: String?) -> Bool {
        guard let contentType else { return false }
        return contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "application/x-www-form-urlencoded"
    }

    /// GET, HEAD, OPTIONS and TRACE change nothing (RFC 9110 9.2.1) and are not checked. Methods
    /// are case-sensitive: `get` is not GET, and is checked.
    public static func isSafe(_ method: String) -> Bool {
        switch method {
        case "GET", "HEAD", "OPTIONS", "TRACE": true
        default: false
        }
    }

    /// Whether `origin` names the request's own host (default ports aside) or a trusted origin.
    private func isTrusted(origin: String, host: String?) -> Bool {
        let origin = Self.normalized(origin)
        if trustedOrigins.contains(origin) { return true }
        guard let host, let separator = origin.range(of: "://") else { return false }
        let scheme = origin[..<separator.lowerBound]
        return origin[separator.upperBound...] == Self.withoutDefaultPort(host.lowercased(), scheme: scheme)
    }

    /// An origin as compared: lowercase, without a trailing slash or the scheme's default port.
    static func normalized(_ origin: String) -> String {
        var text = origin.lowercased()
        if text.hasSuffix("/") { text.removeLast() }
        guard let separator = text.range(of: "://") else { return text }
        let scheme = text[..<separator.lowerBound]
        return scheme + "://" + withoutDefaultPort(String(text[separator.upperBound...]), scheme: scheme)
    }

    private static func withoutDefaultPort(_ host: String, scheme: Substring) -> String {
        let port = scheme == "https" ? ":443" : scheme == "http" ? ":80" : nil
        guard let port, host.hasSuffix(port) else { return host }
        return String(host.dropLast(port.count))
    }

    /// The value of the field `name` in an `application/x-www-form-urlencoded` body, decoded.
    static func formValue(named name: String, in body: [UInt8]) -> String? {
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { continue }
            guard Self.decode(pair[..<equals]) == name else { continue }
            return Self.decode(pair[pair.index(after: equals)...])
        }
        return nil
    }

    /// Form decoding: `+` is a space, `%XX` a byte.
    private static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex, let high = HexDigit.value(bytes[index + 1]), let low = HexDigit.value(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares without stopping at the first difference, so timing tells nothing of the token.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let (a, b) = (Array(lhs.utf8), Array(rhs.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

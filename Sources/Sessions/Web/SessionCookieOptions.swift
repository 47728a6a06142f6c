/// How the session cookie is named and scoped: the attributes of every `Set-Cookie` the
/// framework integrations send, the deletion cookie included.
///
/// The default, ``secure-swift.type.property``, follows the OWASP Session Management Cheat Sheet: a `__Host-` name
/// (the browser accepts it only with `Secure`, `Path=/` and no `Domain`, so no subdomain can plant
/// or shadow it), `Secure`, `HttpOnly` and `SameSite=Lax`. Use ``development`` for plain-HTTP
/// development servers that are not on `localhost`.
public struct SessionCookieOptions: Sendable, Hashable {
    /// The `SameSite` attribute.
    public enum SameSite: String, Sendable, Hashable {
        /// Sent on same-site requests and top-level navigations: the usual choice for a login.
        case lax = "Lax"
        /// Sent on same-site requests only.
        case strict = "Strict"
        /// Sent on cross-site requests too; needs ``SessionCookieOptions/secure-swift.property``.
        case none = "None"
    }

    /// How long the browser keeps the cookie.
    public enum Lifetime: Sendable, Hashable {
        /// Until the session's absolute deadline (`Max-Age`), so a login survives a browser restart
        /// but never outlives the session. A session with only an idle timeout gets a browser-session
        /// cookie: its deadline moves with every use, which a cookie sent once cannot follow.
        case untilAbsoluteDeadline
        /// Until the browser closes (no `Max-Age`); the server still enforces the session's deadlines.
        case browserSession
    }

    /// The cookie's name.
    public var name: String
    /// The `Domain` attribute; nil sends the cookie to the exact host only.
    public var domain: String?
    /// The `Path` attribute.
    public var path: String
    /// The `Secure` attribute: sent over HTTPS only (browsers count `http://localhost` as secure).
    public var secure: Bool
    /// The `HttpOnly` attribute: invisible to scripts.
    public var httpOnly: Bool
    /// The `SameSite` attribute.
    public var sameSite: SameSite
    /// How long the browser keeps the cookie.
    public var lifetime: Lifetime

    /// Creates cookie options; each parameter sets the property of the same name. The defaults are
    /// ``secure-swift.type.property``'s.
    public init(
        name: String = "__Host-session",
        domain: String? = nil,
        path: String = "/",
        secure: Bool = true,
        httpOnly: Bool = true,
        sameSite: SameSite = .lax,
        lifetime: Lifetime = .untilAbsoluteDeadline
    ) {
        self.name = name
        self.domain = domain
        self.path = path
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
        self.lifetime = lifetime
    }

    /// `__Host-session`, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, kept until the session's
    /// absolute deadline.
    public static let secure = SessionCookieOptions()

    /// For development over plain HTTP on a host name other than `localhost`: named `session` and
    /// without `Secure`, otherwise as ``secure-swift.type.property``. Never use it in production.
    public static let development = SessionCookieOptions(name: "session", secure: false)

    /// Checks the options against the cookie rules browsers enforce, so a misconfiguration fails
    /// at startup instead of as a cookie the browser silently drops.
    ///
    /// - Throws: ``SessionStoreError/Code/configurationError`` naming the rule.
    public func validate() throws(SessionStoreError) {
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenCharacter) else {
            throw SessionStoreError(.configurationError, "session cookie name \"\(name.prefix(64))\" is empty or has characters a cookie name may not have (RFC 6265 token)")
        }
        guard path.hasPrefix("/"), path.utf8.allSatisfy(Self.isAttributeCharacter) else {
            throw SessionStoreError(.configurationError, "session cookie path \"\(path.prefix(64))\" must start with / and hold no ; or control characters")
        }
        if let domain {
            guard !domain.isEmpty, domain.utf8.allSatisfy(Self.isAttributeCharacter) else {
                throw SessionStoreError(.configurationError, "session cookie domain \"\(domain.prefix(64))\" is empty or holds ; or control characters")
            }
        }
        if name.hasPrefix("__Host-") {
            guard secure, path == "/", domain == nil else {
                throw SessionStoreError(.configurationError, "a __Host- cookie needs Secure, Path=/ and no Domain, or browsers refuse it (RFC 6265bis 4.1.3.2); use SessionCookieOptions.development for plain HTTP")
            }
        }
        if name.hasPrefix("__Secure-"), !secure {
            throw SessionStoreError(.configurationError, "a __Secure- cookie needs Secure, or browsers refuse it (RFC 6265bis 4.1.3.1)")
        }
        if sameSite == .none, !secure {
            throw SessionStoreError(.configurationError, "SameSite=None needs Secure, or browsers refuse the cookie")
        }
    }

    /// RFC 6265 `token`: visible ASCII except separators.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
    }

    /// What an attribute value may hold: visible ASCII except `;`.
    private static func isAttributeCharacter(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: ";")
    }
}

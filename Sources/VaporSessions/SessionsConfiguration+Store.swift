#if Vapor
public import Sessions
public import Vapor

extension SessionsConfiguration {
    /// Vapor's session cookie with secure defaults: by default `__Host-session`, `HttpOnly`,
    /// `Secure`, `SameSite=Lax`, `Path=/` (``Sessions/SessionCookieOptions/secure``), where Vapor's
    /// own default is neither HttpOnly nor Secure.
    ///
    /// No `Expires` date is sent: Vapor's middleware re-sends the cookie on every response, and
    /// formatting that date is most of what a page view costs it. The cookie lasts until the browser
    /// closes, or `maxAge` seconds (pass the absolute lifetime of your sessions for a login that
    /// survives a restart); the store enforces the session's deadlines either way.
    ///
    /// - Throws: ``Sessions/SessionStoreError/Code/configurationError`` for options a browser would refuse.
    public static func store(cookie: SessionCookieOptions = .secure, maxAge: Duration? = nil) throws -> SessionsConfiguration {
        try cookie.validate()
        let sameSite: HTTPCookies.SameSitePolicy = switch cookie.sameSite {
        case .lax: .lax
        case .strict: .strict
        case .none: .none
        }
        let seconds = maxAge.map { Int($0.components.seconds) }
        return SessionsConfiguration(cookieName: cookie.name) { id in
            HTTPCookies.Value(
                string: id.string,
                expires: nil,
                maxAge: seconds,
                domain: cookie.domain,
                path: cookie.path,
                isSecure: cookie.secure,
                isHTTPOnly: cookie.httpOnly,
                sameSite: sameSite
            )
        }
    }
}
#endif

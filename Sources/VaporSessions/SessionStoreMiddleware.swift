#if Vapor
public import Sessions
public import Vapor

/// Loads each request's session from a ``Sessions/SessionStore`` before the handler runs, refuses
/// cross-site requests, and writes what the handler changed after it returns; Vapor's
/// `req.session` and `SessionAuthenticatable` work on the same session.
///
/// Usually installed by `app.sessions.use(.store(store))` (``Vapor/Application/Sessions/Provider/store(_:services:cookie:csrf:installsMiddleware:userID:)``);
/// on its own, in place of `app.sessions.middleware`:
///
/// ```swift
/// app.middleware.use(try SessionStoreMiddleware(store: store))
/// app.post("cart") { req in
///     try req.storeSession.updateData(as: Cart.self, default: Cart()) { $0.items.append("book") }
///     return "added"
/// }
/// ```
///
/// The request's lifecycle is ``Sessions/RequestSession``'s, the same as Hummingbird's: a
/// malformed or unknown cookie costs no write and is cleared (with its domain and path); a read
/// writes nothing and sends no cookie; a change is a compare-and-swap save replayed on a fresh
/// read when another request saved first; a login rotates the token; a handler that throws
/// writes nothing. Inside it runs Vapor's own `SessionsMiddleware` over ``SessionStoreDriver``,
/// which turns what handlers do to `req.session` into edits of that same session. Errors are
/// answered as ``Sessions/SessionErrorResponse`` says (403, 409, 413, 503, …).
public struct SessionStoreMiddleware: AsyncMiddleware {
    /// The driver that carries `req.session` over; it holds the store and the options.
    public let driver: SessionStoreDriver
    private let vapor: SessionsMiddleware

    /// - Parameters:
    ///   - store: Where sessions live.
    ///   - cookie: The cookie's name and attributes; secure by default (`__Host-session`,
    ///     Secure, HttpOnly, SameSite=Lax, Path=/, a `Max-Age` until the session's absolute deadline).
    ///   - csrf: The cross-site request checks; on by default for every unsafe request.
    ///   - maxFormSize: The largest form body read to find the CSRF token (a larger one is a 413).
    ///   - userID: The session's user, read from `req.session.data`; by default the value of the
    ///     `_<User>Session` key that `req.session.authenticate(_:)` writes.
    /// - Throws: ``Sessions/SessionStoreError/Code/configurationError`` for cookie options a
    ///   browser would refuse.
    public init(
        store: any SessionStore,
        cookie: SessionCookieOptions = .secure,
        csrf: CSRFProtection = .standard,
        maxFormSize: Int = 1 << 20,
        userID: (@Sendable (SessionData) -> String?)? = nil
    ) throws {
        try self.init(driver: SessionStoreDriver(store: store, cookie: cookie, csrf: csrf, maxFormSize: maxFormSize, userID: userID))
    }

    /// The middleware for the driver an application registered (``Vapor/Application/Sessions/storeMiddleware``).
    public init(driver: SessionStoreDriver) throws {
        try driver.cookie.validate()
        self.driver = driver
        // Vapor's middleware keeps `req.session` working; the cookie it sets is replaced by ours.
        self.vapor = SessionsMiddleware(
            session: driver,
            configuration: SessionsConfiguration(cookieName: driver.cookie.name) { HTTPCookies.Value(string: $0.string) }
        )
    }

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let session = RequestSession()
        request.storage[RequestSessionKey.self] = session
        let cookie = driver.cookie
        do {
            let incoming = cookie.incomingCookie(in: request.headers[.cookie])
            try await request.inItsTrace {
                try await session.begin(store: driver.store, cookie: cookie, incoming: incoming, client: request.sessionClient, csrf: driver.csrf)
            }
            try await session.verify(csrfFacts(of: request)) {
                guard CSRFProtection.isForm(contentType: request.headers.first(name: .contentType)) else { return nil }
                let body = try await request.body.collect(max: driver.maxFormSize).get()
                return body.map { Array(buffer: $0) } ?? []
            }
            let response = try await vapor.respond(to: request, chainingTo: next).get()
            Self.removeCookies(named: cookie.name, from: response)
            if let header = try await request.inItsTrace({ try await session.commit() }) {
                response.headers.add(name: .setCookie, value: header)
            }
            return response
        } catch {
            guard let answer = SessionErrorResponse(error, logger: request.logger) else { throw error }
            throw Abort(HTTPResponseStatus(statusCode: answer.status), reason: answer.message)
        }
    }

    private func csrfFacts(of request: Request) -> CSRFProtection.Request {
        CSRFProtection.Request(
            method: request.method.rawValue,
            path: request.url.path,
            host: request.headers.first(name: .host),
            secFetchSite: request.headers.first(name: "Sec-Fetch-Site"),
            origin: request.headers.first(name: .origin),
            headerToken: request.headers.first(name: driver.csrf.headerName)
        )
    }

    /// Drops the `Set-Cookie` Vapor's middleware wrote for the session: the request session's own
    /// header (or none) takes its place.
    private static func removeCookies(named name: String, from response: Response) {
        let prefix = name + "="
        let values = response.headers[.setCookie]
        guard values.contains(where: { $0.hasPrefix(prefix) }) else { return }
        response.headers.remove(name: .setCookie)
        for value in values where !value.hasPrefix(prefix) {
            response.headers.add(name: .setCookie, value: value)
        }
    }
}

/// Where the middleware keeps the request's session.
struct RequestSessionKey: StorageKey {
    typealias Value = RequestSession
}
#endif

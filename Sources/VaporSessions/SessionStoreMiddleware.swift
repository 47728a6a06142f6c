#if Vapor
public import Sessions
public import Vapor

/// Loads each request's session from a `SessionStore` before the handler runs, refuses
/// cross-site requests, and writes what the handler changed after it returns; Vapor's
/// `req.session` and `SessionAuthenticatable` work on the same session.
///
/// Usually installed by `app.sessions.use(.store(store))` (`Application.Sessions.Provider.store(_:services:cookie:csrf:installsMiddleware:userID:)`);
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
/// The request's lifecycle is `RequestSession`'s, the same as Hummingbird's: a
/// malformed or unknown cookie costs no write and is cleared (with its domain and path); a read
/// writes nothing and sends no cookie; a change is a compare-and-swap save replayed on a fresh
/// read when another request saved first; a login rotates the token; a handler that throws
/// writes nothing. Inside it runs Vapor's own `SessionsMiddleware` over ``SessionStoreDriver``,
/// which turns what handlers do to `req.session` into edits of that same session. Errors are
/// answered as `SessionErrorResponse` says (403, 409, 413, 503, …).
public struct SessionStoreMiddleware: AsyncMiddleware {
    /// The driver that carries `req.session` over; it holds the store and the options.
    public let driver: SessionStoreDriver
    private let vapor: SessionsMiddleware

    /// The parameters are ``SessionStoreDriver``'s.
    ///
    /// - Throws: `SessionStoreError.Code.configurationError` for cookie options a
    ///   browser would refuse, or a CSRF header name that is not an HTTP field name.
    public init(
        store: any SessionStore,
        cookie: SessionCookieOptions = .secure,
        csrf: CSRFProtection = .standard,
        maxFormSize: Int? = nil,
        userID: (@Sendable (SessionData) -> String?)? = nil,
        client: (@Sendable (Request) -> SessionClient?)? = nil
    ) throws {
        try self.init(driver: SessionStoreDriver(store: store, cookie: cookie, csrf: csrf, maxFormSize: maxFormSize, userID: userID, client: client))
    }

    /// The middleware for the driver an application registered (`Application.Sessions.storeMiddleware`).
    public init(driver: SessionStoreDriver) throws {
        try driver.cookie.validate()
        let header = driver.csrf.headerName
        guard !header.isEmpty, header.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
            throw SessionStoreError(.configurationError, "the CSRF header name \(header) is not a valid HTTP field name")
        }
        self.driver = driver
        // Vapor's middleware keeps `req.session` working; the cookie it sets is replaced by ours.
        self.vapor = SessionsMiddleware(
            session: driver,
            configuration: SessionsConfiguration(cookieName: driver.cookie.name) { HTTPCookies.Value(string: $0.string) }
        )
    }

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        // Installed twice (globally and on a group): the outer one does the work.
        guard request.storage[RequestSessionKey.self] == nil else { return try await next.respond(to: request) }
        let session = RequestSession()
        request.storage[RequestSessionKey.self] = session
        let cookie = driver.cookie
        do {
            let incoming = cookie.incomingCookie(in: request.headers[.cookie])
            try await request.inItsTrace {
                try await session.begin(store: driver.store, cookie: cookie, incoming: incoming, client: driver.client(request), csrf: driver.csrf)
            }
            try await session.verify(csrfFacts(of: request)) {
                guard CSRFProtection.isForm(contentType: request.headers.first(name: .contentType)) else { return nil }
                let limit = driver.maxFormSize ?? request.application.routes.defaultMaxBodySize.value
                let body = try await request.body.collect(max: limit).get()
                return body.map { Array(buffer: $0) } ?? []
            }
            // Vapor's middleware rewrites every Set-Cookie when it sets its own, dropping those
            // with attributes it does not know: the handler's are kept aside meanwhile.
            let response = try await vapor.respond(to: request, chainingTo: CookieKeeper(next: next)).get()
            response.headers.remove(name: .setCookie)
            for value in request.storage[CookieKeeper.Key.self] ?? [] {
                response.headers.add(name: .setCookie, value: value)
            }
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
}

/// Runs the handler and keeps its `Set-Cookie` headers out of the response until Vapor's
/// session middleware has done with it.
private struct CookieKeeper: AsyncResponder {
    struct Key: StorageKey {
        typealias Value = [String]
    }

    let next: any AsyncResponder

    func respond(to request: Request) async throws -> Response {
        let response = try await next.respond(to: request)
        let cookies = response.headers[.setCookie]
        if !cookies.isEmpty {
            request.storage[Key.self] = cookies
            response.headers.remove(name: .setCookie)
        }
        return response
    }
}

/// Where the middleware keeps the request's session.
struct RequestSessionKey: StorageKey {
    typealias Value = RequestSession
}
#endif

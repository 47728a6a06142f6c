#if Hummingbird
import HTTPTypes
public import Hummingbird
import Logging
public import Sessions

/// Loads each request's session from a ``Sessions/SessionStore`` before the handler runs and
/// writes what the handler changed after it returns.
///
/// ```swift
/// let router = Router(context: BasicSessionStoreRequestContext.self)
/// router.add(middleware: try SessionStoreMiddleware(store: store))
/// router.post("/cart") { request, context in
///     try context.session.updateData(as: Cart.self, default: Cart()) { $0.items.append("book") }
///     return "added"
/// }
/// ```
///
/// What it does for each request:
/// - parses the cookie with ``Sessions/SessionToken`` before any I/O: a malformed value costs no
///   store call, and the response clears it, as it clears a cookie naming no live session;
/// - loads the session with the client's address and user agent (sliding expiry is the store's
///   coalesced touch: a read writes nothing);
/// - after the handler: nothing for a read; a compare-and-swap save for a change, replayed on a
///   fresh read when another request saved first and answered 409 when that keeps happening; a
///   new token with `Set-Cookie` after a login; a deletion cookie (same name, path and domain)
///   after a logout. It never creates a session the handler did not ask for;
/// - a handler that throws writes nothing;
/// - a ``Sessions/SessionStoreError`` becomes an `HTTPError` with
///   ``Sessions/SessionStoreError/httpStatusCode`` (the message is kept for 4xx; 5xx details go
///   to the log, not the client).
public struct SessionStoreMiddleware<Context: SessionStoreRequestContext>: RouterMiddleware {
    /// Describes the requesting client for a request; the default reads the peer address
    /// (when the context is a `RemoteAddressRequestContext`) and the `User-Agent` header. Behind a
    /// proxy, read its forwarding header instead.
    public typealias ClientResolver = @Sendable (Request, Context) -> SessionClient?

    /// Where sessions live.
    public let store: any SessionStore
    /// The cookie's name and attributes.
    public let cookie: SessionCookieOptions
    private let client: ClientResolver

    /// Creates the middleware.
    ///
    /// - Parameters:
    ///   - store: Where sessions live.
    ///   - cookie: The cookie's name and attributes; secure by default (`__Host-session`,
    ///     Secure, HttpOnly, SameSite=Lax, Path=/).
    ///   - client: How to describe the requesting client.
    /// - Throws: ``Sessions/SessionStoreError/Code/configurationError`` for cookie options a
    ///   browser would refuse.
    public init(store: any SessionStore, cookie: SessionCookieOptions = .secure, client: ClientResolver? = nil) throws {
        try cookie.validate()
        self.store = store
        self.cookie = cookie
        self.client = client ?? Self.peerClient
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let incoming = cookie.incomingCookie(in: request.headers[values: .cookie])
        do {
            try await context.session.begin(store: store, cookie: cookie, incoming: incoming, client: client(request, context))
            var response = try await next(request, context)
            if let header = try await context.session.commit() {
                response.headers.append(HTTPField(name: .setCookie, value: header))
            }
            return response
        } catch let error as SessionStoreError {
            throw Self.httpError(for: error, logger: context.logger)
        }
    }

    @Sendable
    private static func peerClient(_ request: Request, _ context: Context) -> SessionClient? {
        let address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
        return SessionClient(ip: address, userAgent: request.headers[.userAgent])
    }

    private static func httpError(for error: SessionStoreError, logger: Logger) -> HTTPError {
        let status = HTTPResponse.Status(code: error.httpStatusCode)
        if status.code >= 500 {
            logger.error("session store failed", metadata: ["error": "\(error)"])
            return HTTPError(status, message: status.code == 503 ? "The session store is unavailable; try again shortly." : "The session store failed.")
        }
        return HTTPError(status, message: error.message)
    }
}
#endif

#if Hummingbird
import HTTPTypes
import NIOCore
public import Hummingbird
public import Sessions

/// Loads each request's session from a `SessionStore` before the handler runs, refuses
/// cross-site requests, and writes what the handler changed after it returns.
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
/// The request's lifecycle is `RequestSession`'s, the same for every framework: a
/// malformed cookie costs no store call and is cleared; a read writes nothing; a change is a
/// compare-and-swap save replayed on a fresh read when another request saved first; a login
/// rotates the token; a logout deletes and clears the cookie; a handler that throws writes
/// nothing. Unsafe requests are checked by `CSRFProtection` before the handler. Errors
/// are answered as `SessionErrorResponse` says (403, 409, 413, 503, …).
public struct SessionStoreMiddleware<Context: SessionStoreRequestContext>: RouterMiddleware {
    /// Describes the requesting client for a request; the default reads the peer address
    /// (when the context is a `RemoteAddressRequestContext`) and the `User-Agent` header. Behind a
    /// proxy, read its forwarding header instead.
    public typealias ClientResolver = @Sendable (Request, Context) -> SessionClient?

    /// Where sessions live.
    public let store: any SessionStore
    /// The cookie's name and attributes.
    public let cookie: SessionCookieOptions
    /// The cross-site request checks.
    public let csrf: CSRFProtection
    /// The largest form body searched for the CSRF token; nil for the context's `maxUploadSize`,
    /// the limit the route's own decoding keeps.
    public let maxFormSize: Int?
    private let client: ClientResolver
    private let csrfHeader: HTTPField.Name

    /// Creates the middleware.
    ///
    /// - Parameters:
    ///   - store: Where sessions live.
    ///   - cookie: The cookie's name and attributes; secure by default (`__Host-session`,
    ///     Secure, HttpOnly, SameSite=Lax, Path=/).
    ///   - csrf: The cross-site request checks; on by default for every unsafe request.
    ///   - maxFormSize: The largest form body read to find the CSRF token (a larger one is a
    ///     413); nil for the request context's `maxUploadSize`.
    ///   - client: How to describe the requesting client.
    /// - Throws: `SessionStoreError.Code.configurationError` for cookie options a
    ///   browser would refuse.
    public init(
        store: any SessionStore,
        cookie: SessionCookieOptions = .secure,
        csrf: CSRFProtection = .standard,
        maxFormSize: Int? = nil,
        client: ClientResolver? = nil
    ) throws {
        try cookie.validate()
        guard let csrfHeader = HTTPField.Name(csrf.headerName) else {
            throw SessionStoreError(.configurationError, "the CSRF header name \(csrf.headerName) is not a valid HTTP field name")
        }
        self.csrfHeader = csrfHeader
        self.store = store
        self.cookie = cookie
        self.csrf = csrf
        self.maxFormSize = maxFormSize
        self.client = client ?? Self.peerClient
    }

    /// Loads the request's session and runs the CSRF checks, calls `next`, then commits what the
    /// handler changed, adding a `Set-Cookie` header when the cookie must change.
    ///
    /// - Throws: An `HTTPError` with `SessionErrorResponse`'s status and message for a
    ///   session store error or a CSRF refusal (the handler's included); any other error as thrown.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let incoming = cookie.incomingCookie(in: request.headers[values: .cookie])
        do {
            try await context.session.begin(store: store, cookie: cookie, incoming: incoming, client: client(request, context), csrf: csrf)
            try await context.session.verify(csrfFacts(of: request)) {
                guard CSRFProtection.isForm(contentType: request.headers[.contentType]) else { return nil }
                return Array(buffer: try await request.collectBody(upTo: maxFormSize ?? context.maxUploadSize))
            }
            var response = try await next(request, context)
            if let header = try await context.session.commit() {
                response.headers.append(HTTPField(name: .setCookie, value: header))
            }
            return response
        } catch {
            guard let answer = SessionErrorResponse(error, logger: context.logger) else { throw error }
            throw HTTPError(HTTPResponse.Status(code: answer.status), message: answer.message)
        }
    }

    @Sendable
    private static func peerClient(_ request: Request, _ context: Context) -> SessionClient? {
        let address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
        return SessionClient(ip: address, userAgent: request.headers[.userAgent])
    }

    private func csrfFacts(of request: Request) -> CSRFProtection.Request {
        CSRFProtection.Request(
            method: request.method.rawValue,
            path: request.uri.path,
            host: request.head.authority,
            secFetchSite: request.headers[.secFetchSite],
            origin: request.headers[.origin],
            headerToken: request.headers[csrfHeader]
        )
    }
}

extension HTTPField.Name {
    /// Where the browser says a request comes from (Fetch Metadata).
    fileprivate static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
#endif

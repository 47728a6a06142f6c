#if Vapor
import Logging
public import Sessions
public import Vapor

/// This package's own session middleware for Vapor, instead of Vapor's `SessionsMiddleware`:
/// the request lifecycle every integration shares (``Sessions/RequestSession``), reached in
/// handlers as `req.requestSession`.
///
/// ```swift
/// app.middleware.use(try StoreSessionsMiddleware(store: store))
/// app.post("cart") { req in
///     try req.requestSession.updateData(as: Cart.self, default: Cart()) { $0.items.append("book") }
///     return "added"
/// }
/// ```
///
/// Choose it over ``StoreSessionDriver`` for what a driver cannot change inside Vapor's
/// middleware: a response that did not change the session carries no `Set-Cookie`; a request
/// with an unknown or malformed cookie costs no store call and creates nothing (its cookie is
/// cleared); the deletion cookie keeps the configured domain and path; data is typed `Codable`
/// instead of a dictionary of strings. Choose the driver to keep `req.session` and Vapor's
/// `SessionAuthenticatable`.
public struct StoreSessionsMiddleware: AsyncMiddleware {
    /// Where sessions live.
    public let store: any SessionStore
    /// The cookie's name and attributes.
    public let cookie: SessionCookieOptions

    /// - Throws: ``Sessions/SessionStoreError/Code/configurationError`` for cookie options a browser would refuse.
    public init(store: any SessionStore, cookie: SessionCookieOptions = .secure) throws {
        try cookie.validate()
        self.store = store
        self.cookie = cookie
    }

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let incoming = cookie.incomingCookie(in: request.headers[.cookie])
        let session = RequestSession()
        request.storage[RequestSessionKey.self] = session
        do {
            try await session.begin(store: store, cookie: cookie, incoming: incoming, client: request.sessionClient)
            let response = try await next.respond(to: request)
            if let header = try await session.commit() {
                response.headers.add(name: .setCookie, value: header)
            }
            return response
        } catch let error as SessionStoreError {
            throw error.abort(logger: request.logger)
        }
    }
}

extension SessionStoreError {
    /// This error as Vapor's `Abort`, with ``Sessions/SessionStoreError/httpStatusCode``; the
    /// message goes to the client for 4xx, to the log for 5xx.
    func abort(logger: Logger) -> Abort {
        let status = HTTPResponseStatus(statusCode: httpStatusCode)
        if status.code >= 500 {
            logger.error("session store failed", metadata: ["error": "\(self)"])
            return Abort(status, reason: status.code == 503 ? "The session store is unavailable; try again shortly." : "The session store failed.")
        }
        return Abort(status, reason: message)
    }
}

struct RequestSessionKey: StorageKey {
    typealias Value = RequestSession
}

extension Request {
    /// The request's session under ``StoreSessionsMiddleware``: read it, change its typed data,
    /// log in or out. Without the middleware its methods throw.
    public var requestSession: RequestSession {
        if let session = storage[RequestSessionKey.self] { return session }
        let unattached = RequestSession()
        storage[RequestSessionKey.self] = unattached
        return unattached
    }
}
#endif

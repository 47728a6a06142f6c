#if Vapor
public import Sessions
import Tracing
public import Vapor

extension Request {
    /// The request's session, kept in a `SessionStore` by ``SessionStoreMiddleware``:
    /// typed data, logging in (a new token), rotation, logout, log out everywhere, the user's
    /// devices and the CSRF token. The same session as `req.session`, which sees it as a
    /// dictionary of strings. Without the middleware its methods throw.
    public var storeSession: RequestSession {
        if let session = storage[RequestSessionKey.self] { return session }
        let unattached = RequestSession()
        storage[RequestSessionKey.self] = unattached
        return unattached
    }

    /// The requesting client: the peer address and the `User-Agent` header.
    var sessionClient: SessionClient {
        SessionClient(ip: remoteAddress?.ipAddress, userAgent: headers.first(name: .userAgent))
    }

    /// Runs `body` with the request's tracing context as the current one: Vapor runs an async
    /// middleware in a task of its own, outside the task that `TracingMiddleware` set the
    /// context in, so the store's spans would start traces of their own
    /// (`request.serviceContext` still holds the request's span).
    func inItsTrace<T>(_ body: () async throws -> T) async rethrows -> T {
        guard ServiceContext.current == nil else { return try await body() }
        return try await ServiceContext.$current.withValue(serviceContext) { try await body() }
    }
}
#endif

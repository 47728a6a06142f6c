#if Hummingbird
public import Hummingbird
public import Sessions

/// A request context that carries the request's session for ``SessionStoreMiddleware``.
///
/// Contexts are values, copied each time one is passed to `next`; ``session`` is a reference,
/// so the middleware sees what the handler changed. Conform your own context by adding one
/// stored property initialised to `RequestSession()`, or use ``BasicSessionStoreRequestContext``.
public protocol SessionStoreRequestContext: RequestContext {
    /// The request's session: read it, change its data, log in or out.
    var session: RequestSession { get }
}
#endif

#if Hummingbird
public import Hummingbird
public import NIOCore
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

/// A ready-made request context with the request's session and the client's address.
public struct BasicSessionStoreRequestContext: SessionStoreRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let session: RequestSession
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.session = RequestSession()
        self.remoteAddress = source.channel.remoteAddress
    }
}
#endif

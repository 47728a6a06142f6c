#if Hummingbird
public import Hummingbird
public import NIOCore
public import Sessions

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

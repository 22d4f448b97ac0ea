import Hummingbird
import NIOCore

/// The request context of every peer's HTTP servers: Hummingbird's basic one, and the address the
/// connection came from, which a handler may bound what one source can do with.
public struct PeerRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer of the connection; nil if the socket could not say (it closed first).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

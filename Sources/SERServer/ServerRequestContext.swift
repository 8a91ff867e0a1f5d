import Hummingbird
import NIOCore

/// The request context of `ser serve`: Hummingbird's basic one, plus the
/// client's address (for the rate limit) and its connection (so a refusal that
/// leaves a body unread can stop reading it).
public struct ServerRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The client's address, which the rate limit counts by; nil when the channel has none.
    public let remoteAddress: SocketAddress?
    let channel: any Channel

    /// The context of a request arriving on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// Stops reading the request: after the answer the connection closes instead
    /// of reading the rest of a body nobody wants (Hummingbird would otherwise
    /// drain it, however slowly it comes).
    func stopReading() {
        channel.close(mode: .input, promise: nil)
    }
}

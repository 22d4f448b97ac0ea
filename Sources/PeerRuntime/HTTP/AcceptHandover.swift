import NIOCore
import Synchronization

/// How many connections NIO has accepted and how many the accept loop has taken.
final class AcceptHandover: Sendable {
    private let counts = Mutex((accepted: 0, taken: 0))

    func accepted() { counts.withLock { $0.accepted += 1 } }
    func taken() { counts.withLock { $0.taken += 1 } }
    /// Accepted and not yet taken: on their way through setup to the loop.
    var pending: Int { counts.withLock { $0.accepted - $0.taken } }
}

/// First in the listener's pipeline: counts each connection as NIO accepts it, before its setup.
final class AcceptCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let handover: AcceptHandover

    init(handover: AcceptHandover) {
        self.handover = handover
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handover.accepted()
        context.fireChannelRead(data)
    }
}

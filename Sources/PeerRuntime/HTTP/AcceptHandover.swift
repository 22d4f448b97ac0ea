import NIOCore
import Synchronization

/// How many connections NIO has accepted and how many the accept loop has taken.
final class AcceptHandover: Sendable {
    private let counts = Mutex((accepted: 0, taken: 0))
    /// The last accept error and when it came; accepting is taken to work again a second after.
    private let failure = Mutex<(error: String, at: ContinuousClock.Instant)?>(nil)

    func accepted() {
        counts.withLock { $0.accepted += 1 }
        failure.withLock { $0 = nil }
    }

    func acceptFailed(_ error: any Error) {
        failure.withLock { $0 = ("\(error)", .now) }
    }

    /// The accept error of the last second, if any.
    var acceptProblem: String? {
        failure.withLock { failure in
            guard let failure, ContinuousClock.now - failure.at < .seconds(1) else { return nil }
            return "cannot accept connections: \(failure.error)"
        }
    }

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

    /// NIO reports a failed accept (EMFILE, ENFILE) here, then backs off for a while.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handover.acceptFailed(error)
        context.fireErrorCaught(error)
    }
}

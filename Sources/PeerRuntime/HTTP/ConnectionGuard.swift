import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The open connections of one HTTP server, with the phase each is in, so that the one idle
/// longest can be closed when a new connection would take the server past its limit.
///
/// Each connection's ``ConnectionDeadlines`` handler reports to it from that connection's event
/// loop; the registry itself is shared under a lock.
public final class ConnectionGuard: Sendable {
    public let limits: ConnectionLimits
    private let maximum: Int

    private struct Entry {
        let channel: any Channel
        /// When it last became idle (opened counts), or nil while a request is in flight.
        var idleSince: ContinuousClock.Instant?
    }

    private struct Registry {
        var open: [ObjectIdentifier: Entry] = [:]
        var evicted = 0
        var refused = 0
    }

    private let registry = Mutex(Registry())

    public init(limits: ConnectionLimits) {
        self.limits = limits
        self.maximum = limits.effectiveMaxConnections
    }

    /// The handler for one new connection; NIO adds it to the connection's pipeline after the
    /// HTTP codec.
    func deadlines() -> ConnectionDeadlines {
        ConnectionDeadlines(guard: self)
    }

    /// Connections open now.
    public var openConnections: Int { registry.withLock { $0.open.count } }

    /// Connections closed to make room, and new ones refused because none was idle.
    public var shed: (evicted: Int, refused: Int) { registry.withLock { ($0.evicted, $0.refused) } }

    /// Registers `channel`; returns false when it must be refused. Past the limit, the
    /// connection idle longest is closed to make room.
    fileprivate func opened(_ channel: any Channel, at now: ContinuousClock.Instant) -> Bool {
        let victim: (any Channel)?? = registry.withLock { registry in
            var victim: (any Channel)?
            if registry.open.count >= maximum {
                let oldest = registry.open.filter { $0.value.idleSince != nil }.min { $0.value.idleSince! < $1.value.idleSince! }
                guard let oldest else {
                    registry.refused += 1
                    return .none
                }
                registry.open.removeValue(forKey: oldest.key)
                registry.evicted += 1
                victim = oldest.value.channel
            }
            registry.open[ObjectIdentifier(channel)] = Entry(channel: channel, idleSince: now)
            return .some(victim)
        }
        guard let victim else { return false }
        victim?.close(promise: nil)
        return true
    }

    fileprivate func changed(_ channel: any Channel, idleSince: ContinuousClock.Instant?) {
        registry.withLock { $0.open[ObjectIdentifier(channel)]?.idleSince = idleSince }
    }

    fileprivate func closed(_ channel: any Channel) {
        _ = registry.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// One connection's deadlines, as an explicit state per event: waiting for its first request
/// head (closed at the header timeout), serving requests, or idle between them (closed at the
/// idle timeout). Touched only on the connection's event loop.
final class ConnectionDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        /// Open, no request head yet; the timer closes it at the header timeout.
        case awaitingHead(Scheduled<Void>?)
        /// Requests whose answer has not ended.
        case serving(inFlight: Int)
        /// Between requests; the timer closes it at the idle timeout.
        case idle(Scheduled<Void>?)
        case closed
    }

    private let connections: ConnectionGuard
    private var phase = Phase.awaitingHead(nil)

    init(guard connections: ConnectionGuard) {
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        start(context)
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .awaitingHead(nil) = phase { start(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        phase = .closed
        connections.closed(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            switch phase {
            case .awaitingHead, .idle:
                cancelTimer()
                phase = .serving(inFlight: 1)
                connections.changed(context.channel, idleSince: nil)
            case .serving(let inFlight):
                phase = .serving(inFlight: inFlight + 1)
            case .closed:
                break
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), case .serving(let inFlight) = phase {
            if inFlight > 1 {
                phase = .serving(inFlight: inFlight - 1)
            } else {
                phase = .idle(schedule(context, after: connections.limits.idleTimeout))
                connections.changed(context.channel, idleSince: .now)
            }
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard connections.opened(context.channel, at: .now) else {
            phase = .closed
            context.close(promise: nil)
            return
        }
        phase = .awaitingHead(schedule(context, after: connections.limits.headerTimeout))
    }

    private func schedule(_ context: ChannelHandlerContext, after delay: Duration) -> Scheduled<Void> {
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        return context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { [self] in
            switch phase {
            case .awaitingHead, .idle:
                phase = .closed
                contextBox.value.close(promise: nil)
            case .serving, .closed:
                break
            }
        }
    }

    private func cancelTimer() {
        switch phase {
        case .awaitingHead(let timer), .idle(let timer): timer?.cancel()
        case .serving, .closed: break
        }
    }
}

@available(*, unavailable)
extension ConnectionDeadlines: Sendable {}

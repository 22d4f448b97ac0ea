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
        let idle: IdleMark
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

    /// Registers `channel`, whose idleness `idle` tells; returns false when it must be refused.
    /// Past the limit, the connection idle longest is closed to make room.
    fileprivate func opened(_ channel: any Channel, idle: IdleMark) -> Bool {
        let victim: (any Channel)?? = registry.withLock { registry in
            var victim: (any Channel)?
            if registry.open.count >= maximum {
                var oldest: (key: ObjectIdentifier, since: UInt64)?
                for (key, entry) in registry.open {
                    let since = entry.idle.since
                    if since != IdleMark.busy, since < oldest?.since ?? .max { oldest = (key, since) }
                }
                guard let oldest else {
                    registry.refused += 1
                    return .none
                }
                victim = registry.open.removeValue(forKey: oldest.key)?.channel
                registry.evicted += 1
            }
            registry.open[ObjectIdentifier(channel)] = Entry(channel: channel, idle: idle)
            return .some(victim)
        }
        guard let victim else { return false }
        victim?.close(promise: nil)
        return true
    }

    fileprivate func closed(_ channel: any Channel) {
        _ = registry.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// Since when one connection has been idle, written by its event loop and read by whichever
/// loop looks for the connection idle longest: an atomic, so that a request's start and end
/// take no lock.
final class IdleMark: Sendable {
    /// No request in flight is `busy`; otherwise the uptime in nanoseconds it became idle at.
    static let busy: UInt64 = 0
    private let value: Atomic<UInt64>

    init(idleSince: NIODeadline) {
        value = Atomic(max(1, idleSince.uptimeNanoseconds))
    }

    var since: UInt64 { value.load(ordering: .relaxed) }

    func set(idleSince: NIODeadline?) {
        value.store(idleSince.map { max(1, $0.uptimeNanoseconds) } ?? Self.busy, ordering: .relaxed)
    }
}

/// One connection's deadlines, as an explicit state per event: waiting for its first request
/// head (closed at the header timeout), serving requests, or idle between them (closed at the
/// idle timeout). Touched only on the connection's event loop.
///
/// One timer at a time, re-armed lazily: a request's start leaves the pending timer alone, and
/// its end arms one only when none is pending or the pending one is later than the new idle
/// deadline; a timer that fires early for the phase it finds arms the next. Scheduling and
/// cancelling a timer on every request was a few percent of what a constant answer cost.
final class ConnectionDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        /// Not active yet.
        case opening
        /// Open since then, no request head yet: closed at the header timeout.
        case awaitingHead(since: NIODeadline)
        /// Requests whose answer has not ended.
        case serving(inFlight: Int)
        /// Between requests since then: closed at the idle timeout.
        case idle(since: NIODeadline)
        case closed
    }

    private let connections: ConnectionGuard
    private var phase = Phase.opening
    private let idle = IdleMark(idleSince: .now())
    private var timer: (scheduled: Scheduled<Void>, deadline: NIODeadline)?

    init(guard connections: ConnectionGuard) {
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        start(context)
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .opening = phase { start(context) }
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
                phase = .serving(inFlight: 1)
                idle.set(idleSince: nil)
            case .serving(let inFlight):
                phase = .serving(inFlight: inFlight + 1)
            case .opening, .closed:
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
                let now = NIODeadline.now()
                phase = .idle(since: now)
                idle.set(idleSince: now)
                arm(context, at: now + TimeAmount(connections.limits.idleTimeout))
            }
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        idle.set(idleSince: now)
        guard connections.opened(context.channel, idle: idle) else {
            phase = .closed
            context.close(promise: nil)
            return
        }
        phase = .awaitingHead(since: now)
        arm(context, at: now + TimeAmount(connections.limits.headerTimeout))
    }

    /// Makes sure a timer fires no later than `deadline`.
    private func arm(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        if let timer {
            guard timer.deadline > deadline else { return }
            timer.scheduled.cancel()
        }
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        let scheduled = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            fired(contextBox.value)
        }
        timer = (scheduled, deadline)
    }

    private func fired(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        switch phase {
        case .awaitingHead(let since):
            let deadline = since + TimeAmount(connections.limits.headerTimeout)
            if now >= deadline { close(context) } else { arm(context, at: deadline) }
        case .idle(let since):
            let deadline = since + TimeAmount(connections.limits.idleTimeout)
            if now >= deadline { close(context) } else { arm(context, at: deadline) }
        case .opening, .serving, .closed:
            // A request's end arms the idle deadline.
            break
        }
    }

    private func close(_ context: ChannelHandlerContext) {
        phase = .closed
        context.close(promise: nil)
    }

    private func cancelTimer() {
        timer?.scheduled.cancel()
        timer = nil
    }
}

@available(*, unavailable)
extension ConnectionDeadlines: Sendable {}

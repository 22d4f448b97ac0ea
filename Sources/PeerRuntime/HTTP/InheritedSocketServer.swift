import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Serves a Hummingbird router on a listening socket this process inherited (from the launcher,
/// or from systemd's socket activation) instead of one it binds.
///
/// The socket belongs to whoever handed it over and outlives this process: while the process
/// restarts, new connections wait in the socket's backlog and are accepted by the next one, so a
/// client sees a short wait, never a refused connection. Hummingbird's `Application` can only
/// bind an address, so the server is assembled from its public parts: NIO's bootstrap on the
/// descriptor and Hummingbird's HTTP/1 channel and router.
public final class InheritedSocketServer: Sendable {
    /// The listening backlog, as the launcher sets it (`cs_tcp_listen`).
    static let backlog: Int32 = 4096

    private let descriptor: Int32
    private let responder: RouterResponder<PeerRequestContext>
    private let log: Logger
    private let closed = Mutex(false)
    /// Connections being served, which a graceful shutdown gives two seconds.
    private let inFlight = Mutex(0)
    /// Connections NIO accepted from the socket, and those the accept loop has taken; until the
    /// two agree, closing the listener would drop accepted connections with their requests unread.
    private let handover = AcceptHandover()
    /// Its connections, each bounded by `limits`.
    public let connections: ConnectionGuard

    /// Serves `router` on `descriptor`, a listening socket this process inherited.
    public init(descriptor: Int32, router: Router<PeerRequestContext>, limits: ConnectionLimits = ConnectionLimits(), log: Logger) {
        self.descriptor = descriptor
        self.responder = router.buildResponder()
        self.log = log
        self.connections = ConnectionGuard(limits: limits)
    }

    /// Why accepting fails now (the descriptor limit, say), or nil while it works: a server
    /// that cannot take connections is not ready, whatever else works.
    public var acceptProblem: String? { handover.acceptProblem }

    /// Serves until graceful shutdown or cancellation. On graceful shutdown it stops accepting at
    /// once (the socket stays open in its owner) and gives the requests in flight two seconds.
    public func run() async throws {
        guard !closed.withLock({ $0 }) else { return }
        let responder = self.responder
        let log = self.log
        let connections = self.connections
        let http = HTTP1Channel(responder: { request, writer, channel in
            let context = PeerRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: log))
            let response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = Response(status: .internalServerError)
            }
            try await writer.write(response: response.head, body: response.body)
        }, configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [connections.deadlines()]))
        // NIO owns and closes the descriptor it serves; a duplicate keeps the inherited one intact.
        let own = dup(descriptor)
        guard own >= 0 else { throw InheritedSocketError(descriptor: descriptor, errno: errno) }
        let handover = self.handover
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptCounter(handover: handover)) }
            }
            .bind(own) { channel in http.setup(channel: channel, logger: log) }
        // NIO listens again on a socket it is handed, with its default backlog of 128 and before
        // any `.backlog` option applies; a burst of connects past it lost SYNs, and each of those
        // clients waited a 1 s retransmission. Listening once more restores the launcher's
        // backlog (the kernel caps it at net.core.somaxconn).
        listen(own, Self.backlog)
        try await withThrowingDiscardingTaskGroup { group in
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        handover.taken()
                        self.inFlight.withLock { $0 += 1 }
                        group.addTask {
                            await http.handle(value: connection, logger: log)
                            self.inFlight.withLock { $0 -= 1 }
                        }
                    }
                }
            } onCancelOrGracefulShutdown: {
                // Stop accepting first, so connections not yet accepted stay in the kernel's
                // backlog for the next process; close once the loop above has taken every one
                // NIO had already accepted, since closing drops those. (Waiting for the loop to
                // be quiet for a while instead lost a connection when the machine was busy.)
                let channel = server.channel
                channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in
                    Task {
                        // A connection whose setup failed never reaches the loop.
                        let giveUp = ContinuousClock.now + .seconds(2)
                        while ContinuousClock.now < giveUp, handover.pending > 0 {
                            try? await Task.sleep(for: .milliseconds(2))
                        }
                        channel.close(promise: nil)
                    }
                }
            }
            // The listener is closed: connections in flight get two seconds, then are cancelled.
            let deadline = ContinuousClock.now + .seconds(2)
            while self.inFlight.withLock({ $0 }) > 0, ContinuousClock.now < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(10))
            }
            group.cancelAll()
        }
    }

    /// Marks the server closed: a run that has not started will not start.
    public func close() {
        closed.withLock { $0 = true }
    }

    /// The port of the inherited socket.
    public func listeningPort() -> Int? {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) == 0 }
        }
        guard ok else { return nil }
        switch Int32(address.ss_family) {
        case AF_INET: return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6: return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default: return nil
        }
    }
}

/// The inherited descriptor cannot be served.
public struct InheritedSocketError: Error, CustomStringConvertible {
    public let descriptor: Int32
    public let errno: Int32
    public var description: String { "cannot use the inherited listening socket \(descriptor): \(String(cString: strerror(errno)))" }
}

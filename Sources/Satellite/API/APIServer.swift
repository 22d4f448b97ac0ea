import Hummingbird
import Logging
import Metrics
import OpenAPIHummingbird
import OpenAPIRuntime
import PeerRuntime
import SatelliteAPI
import SatelliteConfig
import SatelliteDB

/// The API peer's HTTP server at `api.address`: the operations of `openapi.yaml`, with bodies
/// bounded and every error in the document's error shape.
public final class APIServer: Sendable {
    /// The largest request body read, in bytes.
    public static let bodyLimit = 1024 * 1024

    private enum Listening {
        case bound(HTTPListener)
        case inherited(InheritedSocketServer)
    }

    private let listening: Listening

    /// Serves at `address`, or on `inherited`, a listening socket handed over by the launcher.
    init(address: HostPort, inherited: Int32?, limits: ConnectionLimits, handlers: APIHandlers, log: Logger, metrics: any MetricsFactory) throws {
        let router = Router(context: PeerRequestContext.self)
        let routes = RouteTable()
        // Outermost, so it sees the status the error middleware settles on.
        router.add(middleware: RequestMetricsMiddleware<PeerRequestContext>(factory: metrics))
        router.add(middleware: RequestLogMiddleware<PeerRequestContext>(log: log))
        router.add(middleware: APIErrorMiddleware<PeerRequestContext>(log: log, routes: routes))
        router.add(middleware: BodyLimitMiddleware<PeerRequestContext>(limit: Self.bodyLimit))
        router.add(middleware: AuthorizationMiddleware<PeerRequestContext>())
        router.add(middleware: RequestSourceMiddleware<PeerRequestContext>())
        // Compact JSON: the generator's default pretty-prints, and indentation was about a third
        // of a large answer's bytes.
        try handlers.registerHandlers(
            on: RecordingTransport(router: router, table: routes),
            configuration: OpenAPIRuntime.Configuration(dateTranscoder: RFC3339Dates(), jsonEncodingOptions: [.sortedKeys]),
            middlewares: [EmptyBodyMiddleware()]
        )
        if let inherited {
            listening = .inherited(InheritedSocketServer(descriptor: inherited, router: router, limits: limits, log: log))
        } else {
            listening = .bound(HTTPListener(address: address, router: router, limits: limits, log: log))
        }
    }

    /// Serves until graceful shutdown (in-flight requests finish) or cancellation.
    /// - Throws: the bind error when the address is taken.
    public func run() async throws {
        switch listening {
        case .bound(let listener): try await listener.run()
        case .inherited(let server): try await server.run()
        }
    }

    public func close() {
        switch listening {
        case .bound(let listener): listener.close()
        case .inherited(let server): server.close()
        }
    }

    /// Its connections and their limits.
    public var connections: ConnectionGuard {
        switch listening {
        case .bound(let listener): listener.connections
        case .inherited(let server): server.connections
        }
    }

    /// Why it cannot accept connections now, or nil. (Known for the inherited socket, which is
    /// how the launcher runs the API; a socket Hummingbird binds itself does not tell.)
    public var acceptProblem: String? {
        switch listening {
        case .bound: nil
        case .inherited(let server): server.acceptProblem
        }
    }

    /// The port it listens on, once it does; nil if it stopped or never started.
    public func listeningPort() async -> Int? {
        switch listening {
        case .bound(let listener): await listener.listeningPort()
        case .inherited(let server): server.listeningPort()
        }
    }
}

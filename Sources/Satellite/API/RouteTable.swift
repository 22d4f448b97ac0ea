import HTTPTypes
import Hummingbird
import PeerRuntime
import OpenAPIHummingbird
import OpenAPIRuntime
import Synchronization

/// The API's routes as the generated code registers them: for each path template of
/// `openapi.yaml`, its methods. A request for a path the document has, with a method it does not
/// list there, is answered 405 with `Allow`, not 404 as if the path were unknown.
final class RouteTable: Sendable {
    private struct Route {
        /// The template's segments; `nil` stands for a `{parameter}`.
        let segments: [String?]
        var methods: [String]
    }

    private let routes = Mutex<[Route]>([])

    /// Records `method` on `template` (`/v1/buckets/{bucket}`).
    func add(_ method: HTTPRequest.Method, _ template: String) {
        let segments = template.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? nil : String($0) }
        routes.withLock { routes in
            if let index = routes.firstIndex(where: { $0.segments == segments }) {
                routes[index].methods.append(method.rawValue)
            } else {
                routes.append(Route(segments: segments, methods: [method.rawValue]))
            }
        }
    }

    /// The methods the document lists for `path`, in registration order; empty when it has no
    /// such path.
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        return routes.withLock { routes in
            routes.first { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { template, actual in template.map { $0 == actual } ?? !actual.isEmpty }
            }?.methods ?? []
        }
    }
}

/// Registers the generated operations on a Hummingbird router and records each in a
/// ``RouteTable``.
struct RecordingTransport: ServerTransport {
    let router: Router<PeerRequestContext>
    let table: RouteTable

    func register(
        _ handler: @Sendable @escaping (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        router.register(handler, method: method, path: path)
        table.add(method, path)
    }
}

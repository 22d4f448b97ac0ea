import Hummingbird
import Metrics

/// Counts requests by route (the document's path template, so ids do not multiply series) and
/// status, and times them, in the peer's own registry.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        let dimensions = [("method", request.method.rawValue), ("route", route), ("status", String(response.status.code))]
        Counter(label: "satellite_api_requests_total", dimensions: dimensions, factory: factory).increment()
        let elapsed = ContinuousClock.now - start
        Metrics.Timer(label: "satellite_api_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return response
    }
}

import Hummingbird

/// Reads at most `limit` bytes of a request body before anything decodes it.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw HTTPError(.contentTooLarge)
        }
        _ = try await request.collectBody(upTo: limit)
        return try await next(request, context)
    }
}

import Hummingbird

/// The address the request being handled came from, for the handlers (the generated code does
/// not pass the connection): the IP without the port, or nil if the socket could not say.
enum RequestSource {
    @TaskLocal static var address: String?
}

/// Makes the connection's remote address visible to the handlers.
struct RequestSourceMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await RequestSource.$address.withValue(context.remoteAddress?.ipAddress) {
            try await next(request, context)
        }
    }
}

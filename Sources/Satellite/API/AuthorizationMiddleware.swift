import Hummingbird

/// The `Authorization` header of the request being handled, for the handlers: the generated code
/// does not pass it, because the document declares it as a security scheme.
enum RequestAuthorization {
    @TaskLocal static var header: String?
}

/// Makes the request's `Authorization` header visible to the handlers.
struct AuthorizationMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await RequestAuthorization.$header.withValue(request.headers[.authorization]) {
            try await next(request, context)
        }
    }
}

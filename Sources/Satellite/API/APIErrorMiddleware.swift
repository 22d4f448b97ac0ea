import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import OpenAPIRuntime
import SatelliteAPI
import SatelliteDB

typealias ErrorBody = Components.Schemas._Error
typealias ErrorCode = Components.Schemas._Error._ErrorPayload.CodePayload

extension Components.Schemas._Error {
    init(_ code: ErrorCode, _ message: String) {
        self.init(error: .init(code: code, message: message))
    }
}

/// Turns every error a request can end in into the document's error body, so a client never
/// sees an empty 500: decoding failures of the generated code become 400 (415 for a wrong
/// content type) naming the field, a body over the limit 413, an unknown route 404, a database
/// that cannot serve for now (locked beyond its busy timeout, unreachable) 503 with Retry-After, and anything else 500 with nothing internal in it (it is logged instead).
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: Logger
    /// The document's paths and their methods, for 405 instead of 404.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServerError {
            if let unavailable = error.underlyingError as? DatabaseUnavailable {
                return self.unavailable(error.operationID, unavailable)
            }
            let status = error.httpStatus
            if status == .internalServerError {
                log.error("request failed", metadata: ["operation": .string(error.operationID), "error": "\(error.underlyingError)"])
                return Self.response(.internalServerError, ErrorBody(._internal, "the request failed; the satellite logged why"))
            }
            if status == .unsupportedMediaType {
                return Self.response(status, ErrorBody(.unsupportedMediaType, "the request body must be application/json"))
            }
            return Self.response(.badRequest, ErrorBody(.badRequest, Self.describe(error.underlyingError, query: request.uri.queryParameters)))
        } catch let error as HTTPError {
            switch error.status {
            case .contentTooLarge:
                return Self.response(.contentTooLarge, ErrorBody(.tooLarge, "the request body is larger than \(APIServer.bodyLimit / 1024) KiB"))
            case .notFound:
                let allowed = routes.methods(for: request.uri.path)
                guard allowed.isEmpty else {
                    var response = Self.response(.methodNotAllowed, ErrorBody(
                        .badRequest, "\(request.method) is not allowed on \(request.uri.path); it allows \(allowed.joined(separator: ", "))"
                    ))
                    response.headers[.allow] = allowed.joined(separator: ", ")
                    return response
                }
                return Self.response(.notFound, ErrorBody(.notFound, "no such endpoint: \(request.method) \(request.uri.path)"))
            case .methodNotAllowed:
                return Self.response(.methodNotAllowed, ErrorBody(.badRequest, "\(request.method) is not allowed on \(request.uri.path)"))
            default:
                return Self.response(error.status, ErrorBody(error.status.code < 500 ? .badRequest : ._internal, error.body ?? error.status.reasonPhrase))
            }
        } catch is NIOTooManyBytesError {
            // A chunked body past the limit (a Content-Length past it is refused before reading).
            return Self.response(.contentTooLarge, ErrorBody(.tooLarge, "the request body is larger than \(APIServer.bodyLimit / 1024) KiB"))
        } catch let error as HTTPParserError {
            // A body the HTTP parser cannot read: a malformed chunk size, an unknown transfer coding.
            return Self.response(.badRequest, ErrorBody(.badRequest, "the request is not valid HTTP/1.1: \(error)"))
        } catch {
            log.error("request failed", metadata: ["path": .string(request.uri.path), "error": "\(error)"])
            return Self.response(.internalServerError, ErrorBody(._internal, "the request failed; the satellite logged why"))
        }
    }

    /// A request the database could not serve for now (SQLite: another process's lock held
    /// beyond `database.busy-timeout`; a server: unreachable): it may be sent again.
    private func unavailable(_ operation: String, _ error: DatabaseUnavailable) -> Response {
        log.warning("database unavailable; answered 503", metadata: ["operation": .string(operation), "reason": .string(error.reason)])
        var response = Self.response(.serviceUnavailable, ErrorBody(
            .unavailable, "the database cannot serve the request for now (\(error.reason)); retry after 1 s"
        ))
        response.headers[.retryAfter] = "1"
        return response
    }

    static func response(_ status: HTTPResponse.Status, _ body: ErrorBody) -> Response {
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// What was wrong with a request, in the terms of its JSON, from what the generated code threw.
    static func describe(_ error: any Error, query: Hummingbird.Parameters = .init()) -> String {
        var error = error
        // The generated code wraps a DecodingError in a runtime error enum; look inside.
        for _ in 0..<3 {
            guard !(error is DecodingError), let underlying = Self.unwrap(error) else { break }
            error = underlying
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            return "missing field \"\(path(context.codingPath + [key]))\""
        case .typeMismatch(let type, let context)?:
            // The URI decoder of path and query parameters names no field; the JSON decoder
            // says what it expected ("Expected to decode ...").
            if context.codingPath.isEmpty, !context.debugDescription.hasPrefix("Expected to decode") {
                let wrong = query.first { type is Int.Type || type is Int64.Type ? Int64(String($0.value)) == nil : false }
                if let wrong { return "query \"\(wrong.key)\" must be \(typeName(type)); \"\(String(wrong.value).prefix(100))\" is not one" }
                return "a path or query parameter must be \(typeName(type))"
            }
            if context.codingPath.isEmpty { return "the body must be a JSON object" }
            return "field \"\(path(context.codingPath))\" has the wrong type; expected \(typeName(type))"
        case .valueNotFound(let type, let context)?:
            if context.codingPath.isEmpty { return "the body must be a JSON object, not null" }
            return "field \"\(path(context.codingPath))\" is null; expected \(typeName(type))"
        case .dataCorrupted(let context)?:
            if context.codingPath.isEmpty {
                let detail = context.debugDescription
                // The generated date decoder reports no field; every date field of the document is a date-time.
                if detail.contains("ISO8601") { return "a date-time field is not ISO 8601; write it as 2026-11-24T08:00:00Z" }
                return detail.localizedCaseInsensitiveContains("json") || detail.isEmpty ? "the body is not valid JSON" : "the body is not valid: \(detail)"
            }
            return "field \"\(path(context.codingPath))\": \(context.debugDescription)"
        default:
            return "the request is malformed: \(error)"
        }
    }

    private static func unwrap(_ error: any Error) -> (any Error)? {
        let mirror = Mirror(reflecting: error)
        if mirror.displayStyle == .enum, let child = mirror.children.first, let inner = child.value as? any Error {
            return inner
        }
        return nil
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int64.Type, is Int.Type, is Int32.Type: "an integer"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        default: "an object"
        }
    }
}

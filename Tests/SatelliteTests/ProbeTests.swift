import Foundation
import Satellite
import TestPlanet
import Testing

/// What an adversarial probe of the API found (against a release build on loopback), each
/// answered with its right status now; each of these answered otherwise before.
@Suite(.timeLimit(.minutes(1)))
struct ProbeTests {
    func withClient(_ body: @escaping @Sendable (MetainfoClient) async throws -> Void) async throws {
        try await TestPlanet.run { planet in
            let client = await MetainfoClient(planet: planet, key: try planet.makeProject("project"))
            #expect(try await client.call("POST", "/v1/buckets", ["name": "abc"]).status == 201)
            #expect(try await client.call("POST", "/v1/buckets", ["name": "abcd"]).status == 201)
            try await body(client)
        }
    }

    func raw(_ client: MetainfoClient, _ head: String, body: [UInt8] = []) async throws -> HTTPAnswer {
        try await client.planet.rawRequest(Array((head + "Host: s\r\nAuthorization: Bearer \(client.key)\r\nConnection: close\r\n\r\n").utf8) + body)
    }

    /// A name that breaks the document's pattern was listed as a bucket with no objects (200), and
    /// with a NUL byte it was cut short and listed the shorter bucket's objects.
    @Test func aBucketNameThatBreaksThePatternIs400WhereverItIsAPathParameter() async throws {
        try await withClient { client in
            _ = try await client.commitAll(try await client.begin("kept", segments: 0, bucket: "abc"))
            for path in ["/v1/buckets/abc%00d/objects", "/v1/buckets/ab/objects", "/v1/buckets/ABC/objects", "/v1/buckets/abc%00d/object?key=kept"] {
                let answer = try await raw(client, "GET \(path) HTTP/1.1\r\n")
                #expect(answer.status == 400, "\(path): \(answer.text)")
                #expect(answer.error?.message.contains("bucket name must be") == true, "\(path): \(answer.text)")
            }
            let deleted = try await raw(client, "DELETE /v1/buckets/abc%00d/object?key=kept HTTP/1.1\r\n")
            #expect(deleted.status == 400)
            #expect(try await client.call("GET", "/v1/buckets/abc/object?key=kept").status == 200, "the shorter bucket's object is untouched")
        }
    }

    /// A method a path does not have was 404, as if the path did not exist.
    @Test func aMethodThePathDoesNotHaveIs405WithAllow() async throws {
        try await withClient { client in
            for (request, allowed) in [("TRACE /v1/buckets", "GET, POST"), ("PATCH /v1/buckets/abc", "DELETE"), ("PUT /health/live", "GET"), ("DELETE /v1/streams/00000000000000000000000000000000/commit", "POST")] {
                let answer = try await raw(client, "\(request) HTTP/1.1\r\n")
                #expect(answer.status == 405, "\(request): \(answer.text)")
                #expect(answer.headers["allow"] == allowed, "\(request): \(answer.headers)")
                #expect(answer.error != nil, "\(request): the error is in the document's shape")
            }
            #expect(try await raw(client, "GET /v1/nothing HTTP/1.1\r\n").status == 404)
        }
    }

    /// A chunked body past the limit was 500 `internal` with an error logged; a malformed chunk
    /// size and an unknown transfer coding too.
    @Test func chunkedBodiesPastTheLimitOrMalformedAreAnswered413And400() async throws {
        try await withClient { client in
            let big = [UInt8](repeating: UInt8(ascii: "x"), count: APIServer.bodyLimit + 1024)
            let chunked = "POST /v1/buckets HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            let tooLarge = try await raw(client, chunked, body: Array("\(String(big.count, radix: 16))\r\n".utf8) + big + Array("\r\n0\r\n\r\n".utf8))
            #expect(tooLarge.status == 413, "\(tooLarge.text.prefix(300))")
            #expect(tooLarge.error?.code == "too_large")
            let badChunk = try await raw(client, chunked, body: Array("zz\r\nabc\r\n0\r\n\r\n".utf8))
            #expect(badChunk.status == 400, "\(badChunk.text)")
            #expect(badChunk.error?.code == "bad_request")
            let unknownCoding = try await raw(client, "POST /v1/buckets HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked\r\n", body: Array("{}".utf8))
            #expect(unknownCoding.status == 400, "\(unknownCoding.text)")
            // A chunked body within the limit still works.
            let small = Array(#"{"name":"chunky"}"#.utf8)
            let fine = try await raw(client, chunked, body: Array("\(String(small.count, radix: 16))\r\n".utf8) + small + Array("\r\n0\r\n\r\n".utf8))
            #expect(fine.status == 201, "\(fine.text)")
        }
    }

    /// `?limit=99999999999999999999` was told "the body must be a JSON object".
    @Test func aQueryNumberOutOfRangeIsNamedAsTheQueryParameter() async throws {
        try await withClient { client in
            for path in ["/v1/buckets?limit=99999999999999999999", "/v1/buckets?limit=abc", "/v1/buckets/abc/objects?limit=1e3"] {
                let answer = try await client.call("GET", path)
                #expect(answer.status == 400, "\(path)")
                #expect(answer.error?.message.contains(#"query "limit" must be an integer"#) == true, "\(path): \(answer.text)")
            }
        }
    }
}

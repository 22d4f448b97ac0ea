import Foundation
import TestPlanet

/// A client of the metainfo API with one project's key.
struct MetainfoClient {
    let planet: TestPlanet
    let key: String

    func call(_ method: String, _ path: String, _ body: Any? = nil) async throws -> HTTPAnswer {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await planet.request(method, path, body: data, headers: ["Authorization": "Bearer \(key)"])
    }

    func begin(_ key: String, segments: Int, bucket: String = "bucket") async throws -> HTTPAnswer {
        try await call("POST", "/v1/buckets/\(bucket)/objects", ["key": key, "segment_count": segments])
    }

    /// Commits each offered segment with the first `pieces` offered nodes.
    func commitAll(_ begun: HTTPAnswer, pieces: Int = 4) async throws -> [HTTPAnswer] {
        let stream = begun.json?["stream_id"] as? String ?? ""
        var answers: [HTTPAnswer] = []
        for segment in begun.json?["segments"] as? [[String: Any]] ?? [] {
            let nodes = (segment["nodes"] as? [[String: Any]] ?? []).prefix(pieces)
            let stored = nodes.enumerated().map { ["number": $0.offset, "node_id": $0.element["node_id"] as? String ?? ""] as [String: Any] }
            answers.append(try await call("POST", "/v1/streams/\(stream)/segments", ["position": segment["position"] ?? 0, "encrypted_size": 1000, "pieces": stored]))
        }
        answers.append(try await call("POST", "/v1/streams/\(stream)/commit"))
        return answers
    }
}

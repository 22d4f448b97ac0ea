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
        let redundancy = begun.json?["redundancy"] as? [String: Any] ?? [:]
        for segment in begun.json?["segments"] as? [[String: Any]] ?? [] {
            let nodes = (segment["nodes"] as? [[String: Any]] ?? []).prefix(pieces).map { $0["node_id"] as? String ?? "" }
            let stored = self.pieces(Array(nodes.enumerated().map { ($0.offset, $0.element) }), offer: segment, redundancy: redundancy, encryptedSize: 1000)
            answers.append(try await call("POST", "/v1/streams/\(stream)/segments", ["position": segment["position"] ?? 0, "encrypted_size": 1000, "pieces": stored]))
        }
        answers.append(try await call("POST", "/v1/streams/\(stream)/commit"))
        return answers
    }

    /// The `pieces` of a commit: each (number, node) with the hash the simulated node signs for
    /// the piece its offered order limit names (a node not offered signs a hash of its own).
    func pieces(_ pieces: [(Int, String)], offer: [String: Any], redundancy: [String: Any], encryptedSize: Int64) -> [[String: Any]] {
        let limits = Dictionary((offer["nodes"] as? [[String: Any]] ?? []).map { ($0["node_id"] as? String ?? "", $0["order_limit"] as? String) }) { first, _ in first }
        let size = TestPlanet.pieceSize(encryptedSize: encryptedSize, k: redundancy["k"] as? Int ?? 1, shareSize: redundancy["share_size"] as? Int ?? 256)
        return pieces.map { number, node in
            ["number": number, "node_id": node, "hash": planet.storedHash(node: node, limit: limits[node] ?? nil, size: size)] as [String: Any]
        }
    }
}

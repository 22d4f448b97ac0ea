import Crypto
import Foundation
import Identity
import Synchronization
import NodeProtocol
import Satellite
import SatelliteDB

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A storage node as far as the satellite can tell: an identity that checks in over HTTP.
public struct SimulatedNode: Sendable, Equatable {
    public let identity: PeerIdentity
    public var address: String
    public var freeDisk: Int64
    public var version: String

    public init(identity: PeerIdentity = .generate(), address: String, freeDisk: Int64, version: String) {
        self.identity = identity
        self.address = address
        self.freeDisk = freeDisk
        self.version = version
    }

    /// 64 lowercase hexadecimal digits.
    public var id: String { identity.id.hex }

    /// Node `index`: a fresh identity, on its own /24 network unless `network` is given.
    public static func make(index: Int, network: Int? = nil) -> SimulatedNode {
        let net = network ?? index
        return SimulatedNode(address: "10.\(net / 256 % 256).\(net % 256).\(index % 250 + 1):28967", freeDisk: 1 << 40, version: "1.104.2")
    }

    /// The check-in request body, signed now.
    public var checkInBody: Data {
        SignedCheckIn(identity: identity, address: address, freeDisk: freeDisk, version: version).json
    }

    public static func == (left: SimulatedNode, right: SimulatedNode) -> Bool {
        left.id == right.id && left.address == right.address && left.freeDisk == right.freeDisk && left.version == right.version
    }
}

/// An HTTP answer: status, headers and body.
public struct HTTPAnswer: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object, if it is one.
    public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }

    /// The error body's code and message, if the body is one.
    public var error: (code: String, message: String)? {
        guard let error = json?["error"] as? [String: Any], let code = error["code"] as? String, let message = error["message"] as? String else { return nil }
        return (code, message)
    }
}

extension TestPlanet {
    /// The API peer's HTTP address, once it listens.
    public func apiURL() async throws -> URL {
        guard let port = await api.server.listeningPort() else { throw TestPlanetError.apiNotListening }
        return URL(string: "http://127.0.0.1:\(port)")!
    }

    /// Sends a request to the API peer.
    public func request(
        _ method: String,
        _ path: String,
        body: Data? = nil,
        contentType: String? = "application/json",
        headers: [String: String] = [:]
    ) async throws -> HTTPAnswer {
        guard let url = URL(string: try await apiURL().absoluteString + path) else { throw TestPlanetError.badPath(path) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        // Idle time allowed, not total: beside a full run's launched networks (110 node
        // processes) one answer of signed limits waited over 10 s for the CPU. Tests bound the rest.
        request.timeoutInterval = 60
        if let contentType, body != nil { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] { fields["\(name)".lowercased()] = "\(value)" }
        return HTTPAnswer(status: http?.statusCode ?? 0, headers: fields, body: data)
    }

    /// The node checks in with the API peer; the planet remembers it, to sign its piece hashes.
    @discardableResult
    public func checkIn(_ node: SimulatedNode) async throws -> HTTPAnswer {
        simulatedNodes.add(node)
        return try await request("POST", "/v1/contact/checkin", body: node.checkInBody)
    }

    /// The piece hash (base64) a simulated node answers an upload of `size` bytes under `limit`
    /// (base64) with, signed with its key, as the satellite checks it at commit. A simulated node
    /// stores no bytes; the hash is of `size` zeros. A node the planet never checked in, or no
    /// limit, gets a well-formed hash no node signed.
    public func storedHash(node: String, limit: String?, size: Int64) -> String {
        let pieceID = limit.flatMap { Data(base64Encoded: $0) }.flatMap { try? OrderLimit(decoding: $0) }?.pieceID ?? PieceID(bytes: Data(count: 32))!
        let unsigned = PieceHash(pieceID: pieceID, hash: Data(SHA256.hash(data: Data(count: Int(size)))), pieceSize: size, timestamp: Int64(Date().timeIntervalSince1970))
        let hash = simulatedNodes.node(node).map { unsigned.signed(with: $0.identity.sign) } ?? unsigned.signed { _ in Data(count: 64) }
        return hash.encoded.base64EncodedString()
    }

    /// The bytes of each piece of a segment of `encryptedSize` bytes, padded to whole stripes of
    /// `k` shares of `shareSize` bytes.
    public static func pieceSize(encryptedSize: Int64, k: Int, shareSize: Int) -> Int64 {
        let stripe = Int64(k * shareSize)
        return (encryptedSize + 4 + stripe - 1) / stripe * stripe / Int64(k)
    }
}

/// The simulated nodes a planet checked in, by id.
final class SimulatedNodeDirectory: Sendable {
    private let nodes = Mutex<[String: SimulatedNode]>([:])

    func add(_ node: SimulatedNode) {
        nodes.withLock { $0[node.id] = node }
    }

    func node(_ id: String) -> SimulatedNode? {
        nodes.withLock { $0[id] }
    }
}

public enum TestPlanetError: Error, CustomStringConvertible {
    case apiNotListening
    case badPath(String)
    case checkInRefused(String)

    public var description: String {
        switch self {
        case .apiNotListening: "the API peer is not listening"
        case .badPath(let path): "\"\(path)\" is not a path and query"
        case .checkInRefused(let answer): "a simulated node's check-in was refused: \(answer)"
        }
    }
}

extension TestPlanet {
    /// Makes a project and one API key for it, as `satellite admin` does; returns the key.
    public func makeProject(_ name: String) async throws -> String {
        try await Projects(db: database).create(name: name)
        return try await APIKeys(db: database).create(project: name)
    }
}

extension TestPlanet {
    /// Makes `count` nodes, each on its own network, and checks them in.
    public func startNodes(_ count: Int) async throws -> [SimulatedNode] {
        var nodes: [SimulatedNode] = []
        for index in 0..<count {
            let node = SimulatedNode.make(index: index)
            let answer = try await checkIn(node)
            guard answer.status == 200 else { throw TestPlanetError.checkInRefused(answer.text) }
            nodes.append(node)
        }
        return nodes
    }
}

extension TestPlanet {
    /// Makes the node look offline: its last successful contact moves before the online window.
    public func takeOffline(_ node: SimulatedNode) async throws {
        guard let id = Self.bytes(node.id) else { return }
        try await database.recordContactSuccess(id: id, at: Date(timeIntervalSinceNow: -Double(core.checker.onlineWindowSeconds) - 60))
    }

    public static func bytes(_ hex: String) -> Data? {
        var bytes = Data()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

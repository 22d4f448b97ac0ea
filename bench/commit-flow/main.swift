// The commit flow of the API benchmark, which wrk's Lua cannot drive since each commit carries
// piece hashes signed by the nodes' keys: CONNECTIONS keep-alive connections, each walking uploads
// (begin, commit its segment on four of the offered nodes with their signed hashes, commit) for
// SECONDS. The nodes are checkin-bodies' 1 ... NODES, whose keys it derives the same way.
// Prints one JSON line: requests per second, p50 and p99 in ms, errors. With `once KEY`, stores
// one object under KEY and exits 0 if it was committed.
//   commit-flow PORT API_KEY NODES SECONDS CONNECTIONS
//   commit-flow PORT API_KEY NODES once KEY
import Crypto
import Foundation
import Identity
import NodeProtocol
import Synchronization

let arguments = CommandLine.arguments.dropFirst().map { $0 }
let usage = "usage: commit-flow PORT API_KEY NODES SECONDS CONNECTIONS | commit-flow PORT API_KEY NODES once KEY\n"
guard arguments.count == 5, let port = UInt16(arguments[0]), let nodeCount = Int(arguments[2]) else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(64)
}
let apiKey = arguments[1]
/// One object stored under this key, or nil for the timed flow.
let onceKey: String? = arguments[3] == "once" ? arguments[4] : nil
let seconds = Double(arguments[3]) ?? 0
let connections = Int(arguments[4]) ?? 0
guard onceKey != nil || (seconds > 0 && connections > 0) else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(64)
}

var identities: [String: PeerIdentity] = [:]
for node in 1...max(1, nodeCount) {
    let seed = SymmetricKey(data: SHA256.hash(data: Data("bench node \(node)".utf8)))
    let identity = PeerIdentity(privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: seed.withUnsafeBytes { Data($0) }))
    identities[identity.id.hex] = identity
}
let nodes = identities

/// One keep-alive HTTP/1.1 connection to the API.
final class Connection {
    private let port: UInt16
    private let apiKey: String
    private var socket: Int32 = -1
    private var buffer: [UInt8] = []

    init(port: UInt16, apiKey: String) {
        self.port = port
        self.apiKey = apiKey
    }

    func request(_ method: String, _ path: String, _ body: String) -> (status: Int, body: [UInt8]) {
        if socket < 0 { connect() }
        let text = "\(method) \(path) HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer \(apiKey)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { reset(); return (0, []) }
            sent += count
        }
        guard let end = readUntilHeadersEnd() else { reset(); return (0, []) }
        let head = String(decoding: buffer[..<end], as: UTF8.self)
        buffer.removeFirst(end + 4)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        while buffer.count < length {
            guard fill() else { reset(); return (0, []) }
        }
        let answer = Array(buffer[..<length])
        buffer.removeFirst(length)
        return (status, answer)
    }

    private func readUntilHeadersEnd() -> Int? {
        while true {
            if buffer.count >= 4 {
                for index in 0...(buffer.count - 4) where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                    return index
                }
            }
            guard fill() else { return nil }
        }
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer += chunk[..<count]
        return true
    }

    private func connect() {
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func reset() {
        if socket >= 0 { close(socket) }
        socket = -1
        buffer = []
    }
}

/// The hashes four offered nodes answer an upload of a 1,000-byte segment with, as a commit body.
@Sendable func commitBody(_ begun: [String: Any], nodes: [String: PeerIdentity]) -> String? {
    guard let segment = (begun["segments"] as? [[String: Any]])?.first, let offered = segment["nodes"] as? [[String: Any]],
        let redundancy = begun["redundancy"] as? [String: Any], let k = redundancy["k"] as? Int, let share = redundancy["share_size"] as? Int
    else { return nil }
    let stripe = Int64(k * share)
    let size = (1000 + 4 + stripe - 1) / stripe * stripe / Int64(k)
    var pieces: [String] = []
    for (number, node) in offered.prefix(4).enumerated() {
        guard let id = node["node_id"] as? String, let identity = nodes[id],
            let limit = (node["order_limit"] as? String).flatMap({ Data(base64Encoded: $0) }).flatMap({ try? OrderLimit(decoding: $0) })
        else { return nil }
        let hash = PieceHash(pieceID: limit.pieceID, hash: Data(count: 32), pieceSize: size, timestamp: Int64(Date().timeIntervalSince1970)).signed(with: identity.sign)
        pieces.append(#"{"number":\#(number),"node_id":"\#(id)","hash":"\#(hash.encoded.base64EncodedString())"}"#)
    }
    return #"{"position":0,"encrypted_size":1000,"pieces":[\#(pieces.joined(separator: ","))]}"#
}

if let onceKey {
    let connection = Connection(port: port, apiKey: apiKey)
    let (status, body) = connection.request("POST", "/v1/buckets/load/objects", #"{"key":"\#(onceKey)","segment_count":1}"#)
    guard status == 201, let begun = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let stream = begun["stream_id"] as? String,
        let segment = commitBody(begun, nodes: nodes), connection.request("POST", "/v1/streams/\(stream)/segments", segment).0 == 204,
        connection.request("POST", "/v1/streams/\(stream)/commit", "").0 == 200
    else {
        FileHandle.standardError.write(Data("commit-flow: \(onceKey) was not stored (begin answered \(status): \(String(decoding: body, as: UTF8.self)))\n".utf8))
        exit(1)
    }
    exit(0)
}

let results = Mutex<(latencies: [Double], errors: Int)>(([], 0))
let deadline = Date().addingTimeInterval(seconds)
let group = DispatchGroup()
for thread in 0..<connections {
    group.enter()
    Thread.detachNewThread { [nodes, apiKey, port] in
        let connection = Connection(port: port, apiKey: apiKey)
        var mine: [Double] = []
        var failed = 0
        var counter = 0
        func timed(_ method: String, _ path: String, _ body: String) -> (Int, [UInt8]) {
            let start = Date()
            let answer = connection.request(method, path, body)
            mine.append(Date().timeIntervalSince(start) * 1000)
            return answer
        }
        while Date() < deadline {
            counter += 1
            let (status, body) = timed("POST", "/v1/buckets/load/objects", #"{"key":"flow/\#(thread)/\#(counter)","segment_count":1}"#)
            guard status == 201, let begun = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                let stream = begun["stream_id"] as? String, let segment = commitBody(begun, nodes: nodes)
            else { failed += 1; continue }
            guard timed("POST", "/v1/streams/\(stream)/segments", segment).0 == 204 else { failed += 1; continue }
            if timed("POST", "/v1/streams/\(stream)/commit", "").0 != 200 { failed += 1 }
        }
        results.withLock { $0.latencies += mine; $0.errors += failed }
        group.leave()
    }
}
group.wait()
let (unsorted, errors) = results.withLock { $0 }
let latencies = unsorted.sorted()
func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
print(#"{"rate": \#(Double(latencies.count) / seconds), "p50": \#(percentile(0.5)), "p99": \#(percentile(0.99)), "errors": \#(errors)}"#)

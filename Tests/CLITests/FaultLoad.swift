import Foundation
import Identity
import NodeProtocol

/// The client load of the fault run, from one thread of its own: a check-in from a new node each
/// round and, every fifth round, an object stored (begin, commit its segment, commit). Every
/// request carries its own `X-Request-Id`; the load remembers which were answered and when (the
/// API logs each one before answering), and which writes were acknowledged.
final class FaultLoad: @unchecked Sendable {
    struct Answered {
        let requestID: String
        /// When the request went out, and when its answer came back: the API wrote its line
        /// somewhere in between.
        let sent: ContinuousClock.Instant
        let at: ContinuousClock.Instant
    }

    struct Counts {
        var answered = 0
        var acknowledgedCheckIns = 0
        var acknowledgedObjects = 0
        /// Requests that got no answer (the API was down) or a 5xx.
        var failed = 0
        /// 503 answers with code `unavailable`: the database could not serve (locked beyond the
        /// busy timeout, or the server unreachable).
        var lockTimeouts = 0
        /// The longest a request took, answered or not.
        var longest: Duration = .zero
        /// That request: its method, path and status (0 unanswered), and when it went out.
        var longestRequest = ""
        var longestSent: ContinuousClock.Instant?
    }

    let port: Int
    let host: String
    let key: String
    private let lock = NSLock()
    private var answered: [Answered] = []
    private var checkIns: [String] = []
    private var objects: [String] = []
    private var counts = Counts()
    private var round = 0
    private var request = 0
    /// The identities of the nodes checked in, to sign their piece hashes (the loop's thread only).
    private var identities: [String: PeerIdentity] = [:]
    private let loop = BackgroundLoop()

    init(port: Int, key: String, host: String = "127.0.0.1") {
        self.port = port
        self.key = key
        self.host = host
    }

    var snapshot: Counts {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }

    /// Node ids (hex) of every check-in answered 200.
    var acknowledgedCheckIns: [String] {
        lock.lock()
        defer { lock.unlock() }
        return checkIns
    }

    /// Keys of every object whose commit was answered 200.
    var acknowledgedObjects: [String] {
        lock.lock()
        defer { lock.unlock() }
        return objects
    }

    /// Takes the answered requests recorded so far, leaving none.
    func takeAnswered() -> [Answered] {
        lock.lock()
        defer { lock.unlock() }
        let taken = answered
        answered = []
        return taken
    }

    func start() { loop.start { self.once() } }
    func stop() { loop.stop() }

    /// One request; its status (0 when nothing answered) and JSON body.
    private func call(_ method: String, _ path: String, _ body: String?, authorized: Bool = true) -> (Int, [String: Any]) {
        request += 1
        let requestID = "fault-\(request)"
        let payload = body ?? ""
        let authorization = authorized ? "Authorization: Bearer \(key)\r\n" : ""
        let text = "\(method) \(path) HTTP/1.1\r\nHost: s\r\n\(authorization)X-Request-Id: \(requestID)\r\nContent-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)"
        let sent = ContinuousClock.now
        let answer = rawTCP(port, Array(text.utf8), host: host)
        let status = answer.hasPrefix("HTTP/1.1 ") ? Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0 : 0
        let json = answer.range(of: "\r\n\r\n").flatMap { try? JSONSerialization.jsonObject(with: Data(answer[$0.upperBound...].utf8)) as? [String: Any] } ?? [:]
        lock.lock()
        if .now - sent > counts.longest {
            counts.longest = .now - sent
            counts.longestRequest = "\(method) \(path) \(status)"
            counts.longestSent = sent
        }
        if status > 0 {
            answered.append(Answered(requestID: requestID, sent: sent, at: .now))
            counts.answered += 1
        }
        if status == 0 || status >= 500 { counts.failed += 1 }
        if status == 503, (json["error"] as? [String: Any])?["code"] as? String == "unavailable" { counts.lockTimeouts += 1 }
        lock.unlock()
        return (status, json)
    }

    /// Stores one object; its key when the commit was acknowledged.
    private func storeObject(_ round: Int) -> String? {
        let key = "fault/\(round)"
        let (begun, offer) = call("POST", "/v1/buckets/load/objects", #"{"key":"\#(key)","segment_count":1}"#)
        guard begun == 201, let stream = offer["stream_id"] as? String,
            let nodes = (offer["segments"] as? [[String: Any]])?.first?["nodes"] as? [[String: Any]], nodes.count >= 4
        else { return nil }
        let redundancy = offer["redundancy"] as? [String: Any] ?? [:]
        let stripe = Int64((redundancy["k"] as? Int ?? 1) * (redundancy["share_size"] as? Int ?? 256))
        let pieceSize = (100 + 4 + stripe - 1) / stripe * stripe / Int64(redundancy["k"] as? Int ?? 1)
        let pieces = nodes.prefix(4).enumerated().map { number, node in
            let id = node["node_id"] as? String ?? ""
            // What the node would answer the upload with: the hash of the piece its limit names.
            let limit = (node["order_limit"] as? String).flatMap { Data(base64Encoded: $0) }.flatMap { try? OrderLimit(decoding: $0) }
            let hash = PieceHash(pieceID: limit?.pieceID ?? PieceID.random(), hash: Data(count: 32), pieceSize: pieceSize, timestamp: Int64(Date().timeIntervalSince1970))
            let signed = identities[id].map { hash.signed(with: $0.sign) } ?? hash
            return #"{"number":\#(number),"node_id":"\#(id)","hash":"\#(signed.encoded.base64EncodedString())"}"#
        }
        guard call("POST", "/v1/streams/\(stream)/segments", #"{"position":0,"encrypted_size":100,"pieces":[\#(pieces.joined(separator: ","))]}"#).0 == 204 else { return nil }
        return call("POST", "/v1/streams/\(stream)/commit", nil).0 == 200 ? key : nil
    }

    private func once() {
        round += 1
        let round = self.round
        let identity = PeerIdentity.generate()
        let id = identity.id.hex
        let body = String(decoding: SignedCheckIn(identity: identity, address: "10.\(round % 256).\(round / 256 % 256).1:28967", freeDisk: 1_099_511_627_776, version: "1").json, as: UTF8.self)
        let checkedIn = call("POST", "/v1/contact/checkin", body, authorized: false).0 == 200
        if checkedIn { identities[id] = identity }
        let stored = round % 5 == 0 && round > 20 ? storeObject(round) : nil
        lock.lock()
        if checkedIn {
            checkIns.append(id)
            counts.acknowledgedCheckIns += 1
        }
        if let stored {
            objects.append(stored)
            counts.acknowledgedObjects += 1
        }
        lock.unlock()
        if !checkedIn { usleep(20_000) }
    }
}

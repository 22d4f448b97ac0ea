import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Identity
import Lifecycle
import NodeProtocol
import PeerRuntime
import Satellite
import SatelliteDB
import TestPlanet
import Testing

/// Node check-in and the API's error answers, over HTTP against a TestPlanet.
@Suite(.timeLimit(.minutes(1)))
struct ContactTests {
    private static func planet(checkInInterval: Duration = .zero) -> TestPlanet.Reconfigure {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.contact.checkInInterval = checkInInterval }
        return reconfigure
    }

    @Test func nodesCheckInAndTheOverlayKnowsThem() async throws {
        try await TestPlanet.run(reconfigure: Self.planet()) { planet in
            var nodes = (0..<5).map { SimulatedNode.make(index: $0, network: $0 / 2) }
            nodes.append(SimulatedNode(address: "[2001:db8:1:2:3:4:5:6]:28967", freeDisk: 0, version: "1.0.0"))
            for node in nodes {
                let answer = try await planet.checkIn(node)
                #expect(answer.status == 200, "\(answer.text)")
                #expect(answer.json?["node_id"] as? String == node.id)
            }
            #expect(try await planet.database.nodeCount() == 6)
            let first = try await #require(try planet.database.node(id: hex(nodes[0].id)))
            #expect(first.address == nodes[0].address)
            #expect(first.lastNet == "10.0.0.0/24")
            #expect(first.freeDisk == 1 << 40)
            #expect(first.lastContactSuccess != nil)
            // The key the id is the hash of, kept to check the node's signed piece hashes with.
            #expect(first.publicKey == nodes[0].identity.publicKeyBytes)
            #expect(try await planet.database.node(id: hex(nodes[1].id))?.lastNet == "10.0.0.0/24")
            #expect(try await planet.database.node(id: hex(nodes[2].id))?.lastNet == "10.0.1.0/24")
            #expect(try await planet.database.node(id: hex(nodes[5].id))?.lastNet == "2001:db8:1:2::/64")

            // A second check-in updates the node in place.
            var moved = nodes[0]
            moved.address = "192.0.2.7:7777"
            moved.freeDisk = 5
            #expect(try await planet.checkIn(moved).status == 200)
            let updated = try await #require(try planet.database.node(id: hex(moved.id)))
            #expect(updated.address == "192.0.2.7:7777" && updated.lastNet == "192.0.2.0/24" && updated.freeDisk == 5)
            #expect(try await planet.database.nodeCount() == 6)
        }
    }

    @Test func aNodeThatChecksInTooOftenIsToldWhenToComeBack() async throws {
        try await TestPlanet.run(reconfigure: Self.planet(checkInInterval: .seconds(30))) { planet in
            let node = SimulatedNode.make(index: 1)
            #expect(try await planet.checkIn(node).status == 200)
            let again = try await planet.checkIn(node)
            #expect(again.status == 429)
            #expect(again.error?.code == "too_many_requests")
            let retryAfter = try #require(again.headers["retry-after"].flatMap(Int.init))
            #expect((1...30).contains(retryAfter))
            // Other nodes are not held back.
            #expect(try await planet.checkIn(SimulatedNode.make(index: 2)).status == 200)
        }
    }

    @Test(arguments: [
        ("not json at all", "bad_request", "not valid JSON"),
        (#"{"address":"10.0.0.1:1","free_disk":1,"version":"1"}"#, "bad_request", #"missing field "node_id""#),
        (#"{"node_id":"\#(String(repeating: "a", count: 64))","address":"10.0.0.1:1","free_disk":"lots","version":"1"}"#, "bad_request", #""free_disk""#),
        (#"{"node_id":"XYZ","address":"10.0.0.1:1","free_disk":1,"version":"1"}"#, "bad_request", #""node_id" must be 64 lowercase hexadecimal digits"#),
        (#"{"node_id":"\#(String(repeating: "a", count: 64))","address":"localhost","free_disk":1,"version":"1"}"#, "bad_request", #""address""#),
        (#"{"node_id":"\#(String(repeating: "a", count: 64))","address":"example.com:80","free_disk":1,"version":"1"}"#, "bad_request", "IPv4"),
        (#"{"node_id":"\#(String(repeating: "a", count: 64))","address":"10.0.0.1:99999","free_disk":1,"version":"1"}"#, "bad_request", "port"),
        (#"{"node_id":"\#(String(repeating: "a", count: 64))","address":"10.0.0.1:1","free_disk":-1,"version":"1"}"#, "bad_request", #""free_disk" must be 0 or more"#),
        (#"{"node_id":"\#(String(repeating: "a", count: 64))","address":"10.0.0.1:1","free_disk":1,"version":""}"#, "bad_request", #""version""#),
        (#"{"node_id":"\#(String(repeating: "a", count: 64))","address":"10.0.0.1:1","free_disk":1,"version":"1","extra":true}"#, "bad_request", "extra"),
        (#"[1,2,3]"#, "bad_request", "the body must be a JSON object"),
        (#"null"#, "bad_request", "the body must be a JSON object, not null"),
    ])
    func badCheckInsGetAClearErrorAndWriteNothing(body: String, code: String, message: String) async throws {
        try await TestPlanet.run(reconfigure: Self.planet()) { planet in
            // Well-formed proof fields, so each body fails on the field it is about.
            let proof = #","public_key":"\#(String(repeating: "a", count: 64))","signed_at":0,"signature":"\#(String(repeating: "b", count: 128))"}"#
            let body = body.hasPrefix(#"{""#) ? String(body.dropLast()) + proof : body
            let answer = try await planet.request("POST", "/v1/contact/checkin", body: Data(body.utf8))
            #expect(answer.status == 400, "\(answer.text)")
            #expect(answer.error?.code == code, "\(answer.text)")
            #expect(answer.error?.message.contains(message) == true, "\(answer.text)")
            #expect(try await planet.database.nodeCount() == 0)
        }
    }

    /// A check-in signed by `signer` that claims `claimed`'s id.
    private static func forged(_ claimed: SimulatedNode, signer: PeerIdentity, tamper: (inout SignedCheckIn) -> Void = { _ in }) -> Data {
        var checkIn = SignedCheckIn(identity: signer, address: claimed.address, freeDisk: claimed.freeDisk, version: claimed.version)
        checkIn.nodeID = claimed.id
        tamper(&checkIn)
        return checkIn.json
    }

    @Test func aCheckInForAnIdWithoutItsKeyIsRefusedAndTakesNothingOver() async throws {
        try await TestPlanet.run(reconfigure: Self.planet(checkInInterval: .seconds(30))) { planet in
            let victim = SimulatedNode.make(index: 1)
            let attacker = PeerIdentity.generate()
            // Before the victim ever checked in, and after: the id is not the attacker's to claim.
            var hijack = victim
            hijack.address = "10.66.66.66:1"
            for _ in 0..<2 {
                let answer = try await planet.request("POST", "/v1/contact/checkin", body: Self.forged(hijack, signer: attacker))
                #expect(answer.status == 401, "\(answer.text)")
                #expect(answer.error?.code == "unauthorized")
                #expect(answer.error?.message.contains("node_id is not the SHA-256 of public_key") == true, "\(answer.text)")
                if try await planet.database.nodeCount() == 0 {
                    // The refused check-in did not use up the victim's check-in interval.
                    #expect(try await planet.checkIn(victim).status == 200)
                }
            }
            #expect(try await planet.database.node(id: hex(victim.id))?.address == victim.address)
        }
    }

    @Test func aCheckInWhoseSignatureDoesNotHoldIsRefused() async throws {
        try await TestPlanet.run(reconfigure: Self.planet()) { planet in
            let node = SimulatedNode.make(index: 2)
            let cases: [(String, (inout SignedCheckIn) -> Void, Int, String)] = [
                ("a field changed after signing", { $0.freeDisk += 1 }, 401, "signature does not verify"),
                ("the address changed after signing", { $0.address = "10.9.9.9:9" }, 401, "signature does not verify"),
                ("signed two hours ago", { $0.signedAt -= 7200 }, 401, "signed_at is"),
                ("signed an hour and a half ahead", { $0.signedAt += 5400 }, 401, "signed_at is"),
                // Subtracted from the clock, the least Int64 overflowed and stopped the API.
                ("signed at the least time an Int64 holds", { $0.signedAt = .min }, 401, "signed_at is"),
                ("another key's signature", { $0.signature = SignedCheckIn(identity: .generate(), address: node.address, freeDisk: node.freeDisk, version: node.version).signature }, 401, "signature does not verify"),
                ("a signature cut short", { $0.signature = String($0.signature.prefix(126)) }, 400, "signature"),
                ("a public key in capitals", { $0.publicKey = $0.publicKey.uppercased() }, 400, "public_key"),
            ]
            for (what, tamper, status, message) in cases {
                let answer = try await planet.request("POST", "/v1/contact/checkin", body: Self.forged(node, signer: node.identity, tamper: tamper))
                #expect(answer.status == status, "\(what): \(answer.text)")
                #expect(answer.error?.message.contains(message) == true, "\(what): \(answer.text)")
            }
            #expect(try await planet.database.nodeCount() == 0)
            #expect(try await planet.checkIn(node).status == 200)
        }
    }

    @Test(arguments: [
        ("0.0.0.0:28967", "0.0.0.0/8"), ("169.254.10.1:28967", "link-local"), ("224.0.0.5:28967", "multicast"),
        ("255.255.255.255:28967", "broadcast"), ("[::]:28967", "unspecified"), ("[fe80::1]:28967", "link-local"),
        ("[ff02::1]:28967", "multicast"), ("[::ffff:169.254.0.1]:28967", "link-local"),
    ])
    func addressesNoNodeCanHaveAreRefused(address: String, why: String) async throws {
        var reconfigure = Self.planet()
        let allowed = reconfigure.api
        reconfigure.api = { allowed(&$0); $0.contact.allowPrivateAddresses = true }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            var node = SimulatedNode.make(index: 3)
            node.address = address
            let answer = try await planet.checkIn(node)
            #expect(answer.status == 400, "\(answer.text)")
            #expect(answer.error?.message.contains(why) == true, "\(answer.text)")
            #expect(try await planet.database.nodeCount() == 0)
        }
    }

    @Test func privateAddressesOnlyWithTheConfigKey() async throws {
        var reconfigure = Self.planet()
        reconfigure.api = { $0.contact.checkInInterval = .zero; $0.contact.allowPrivateAddresses = false }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            for address in ["127.0.0.1:28967", "10.1.2.3:28967", "172.20.0.1:28967", "192.168.1.1:28967", "100.100.0.1:28967", "[::1]:28967", "[fd00::1]:28967"] {
                var node = SimulatedNode.make(index: 4)
                node.address = address
                let answer = try await planet.checkIn(node)
                #expect(answer.status == 400, "\(address): \(answer.text)")
                #expect(answer.error?.message.contains("contact.allow-private-addresses") == true, "\(answer.text)")
            }
            var reachable = SimulatedNode.make(index: 5)
            reachable.address = "203.0.113.9:28967"
            #expect(try await planet.checkIn(reachable).status == 200)
            #expect(try await planet.database.nodeCount() == 1)
        }
    }

    /// A block of addresses is not a block of bounds: the addresses of one /24 (or /64) share one.
    @Test func oneNetworksAddressesCheckInAtMostSoManyDifferentNodesBetweenThem() async throws {
        #expect(NodeAddress.network(ofSource: "203.0.113.9") == "203.0.113.0/24")
        #expect(NodeAddress.network(ofSource: "2001:DB8::1") == NodeAddress.network(ofSource: "2001:db8::ffff:1"))
        #expect(NodeAddress.network(ofSource: "2001:db8:0:1::1") != NodeAddress.network(ofSource: "2001:db8::1"))
        let limiter = CheckInSourceLimiter(limit: 2, window: .seconds(600))
        let ids = (0..<4).map { Data(repeating: UInt8($0), count: 32) }
        #expect(limiter.admit(ids[0], from: NodeAddress.network(ofSource: "10.0.0.1")) == nil)
        #expect(limiter.admit(ids[1], from: NodeAddress.network(ofSource: "10.0.0.2")) == nil)
        #expect(limiter.admit(ids[2], from: NodeAddress.network(ofSource: "10.0.0.3")) != nil, "a third address of the /24")
        #expect(limiter.admit(ids[2], from: NodeAddress.network(ofSource: "10.0.1.3")) == nil, "another /24")

        var reconfigure = Self.planet()
        reconfigure.api = { $0.contact.checkInInterval = .zero; $0.contact.maxNodesPerSourceNetwork = 2; $0.contact.sourceWindow = .seconds(600) }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let nodes = (0..<3).map { SimulatedNode.make(index: $0) }
            for node in nodes.prefix(2) { #expect(try await planet.checkIn(node).status == 200) }
            let refused = try await planet.checkIn(nodes[2])
            #expect(refused.status == 429, "\(refused.text)")
            #expect(refused.error?.message.contains("addresses of 127.0.0.0/24 checked in 2 different nodes") == true, "\(refused.text)")
            #expect(try await planet.database.nodeCount() == 2)
        }
    }

    @Test func oneAddressChecksInAtMostSoManyDifferentNodesWithinTheWindow() async throws {
        var reconfigure = Self.planet()
        reconfigure.api = { $0.contact.checkInInterval = .zero; $0.contact.maxNodesPerSource = 3; $0.contact.sourceWindow = .seconds(600) }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let nodes = (0..<4).map { SimulatedNode.make(index: $0) }
            for node in nodes.prefix(3) { #expect(try await planet.checkIn(node).status == 200) }
            let refused = try await planet.checkIn(nodes[3])
            #expect(refused.status == 429, "\(refused.text)")
            #expect(refused.error?.message.contains("127.0.0.1 checked in 3 different nodes") == true, "\(refused.text)")
            #expect((1...600).contains(try #require(refused.headers["retry-after"].flatMap(Int.init))))
            #expect(try await planet.database.node(id: hex(nodes[3].id)) == nil)
            // The nodes already seen from the address check in again.
            for node in nodes.prefix(3) { #expect(try await planet.checkIn(node).status == 200) }
            #expect(try await planet.database.nodeCount() == 3)
        }
    }

    @Test func oversizedBodiesWrongContentTypesAndUnknownRoutesAreErrorsInTheDocumentsShape() async throws {
        try await TestPlanet.run(reconfigure: Self.planet()) { planet in
            let huge = Data(repeating: UInt8(ascii: " "), count: APIServer.bodyLimit + 1024)
            let tooLarge = try await planet.request("POST", "/v1/contact/checkin", body: huge)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.error?.code == "too_large")

            let node = SimulatedNode.make(index: 3)
            let wrongType = try await planet.request("POST", "/v1/contact/checkin", body: node.checkInBody, contentType: "text/plain")
            #expect(wrongType.status == 415)
            #expect(wrongType.error?.code == "unsupported_media_type")

            let unknown = try await planet.request("GET", "/v1/nowhere")
            #expect(unknown.status == 404)
            #expect(unknown.error?.code == "not_found")
            #expect(try await planet.database.nodeCount() == 0)
        }
    }

    @Test func theAPIAddressServesHealthAndItsOwnDocument() async throws {
        try await TestPlanet.run { planet in
            let live = try await planet.request("GET", "/health/live")
            #expect(live.status == 200)
            let ready = try await planet.request("GET", "/health/ready")
            #expect(ready.status == 200 && ready.text == "ready\n")
            let document = try await planet.request("GET", "/openapi.yaml")
            #expect(document.status == 200)
            #expect(document.text.hasPrefix("openapi: \"3.1.0\""))
            #expect(document.text.contains("/v1/contact/checkin"))
        }
    }
}

private func hex(_ text: String) -> Data {
    var bytes = Data()
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

@Suite(.timeLimit(.minutes(1)))
struct PeerMetricsTests {
    @Test func peersCountRequestsByRouteAndStatusAndTimeTheirChores() async throws {
        try await TestPlanet.run { planet in
            #expect(try await planet.checkIn(SimulatedNode.make(index: 1)).status == 200)
            #expect(try await planet.request("POST", "/v1/contact/checkin", body: Data("{}".utf8)).status == 400)
            let key = try await planet.makeProject("p")
            #expect(try await planet.request("DELETE", "/v1/buckets/nothing", headers: ["Authorization": "Bearer \(key)"]).status == 404)
            await planet.core.checker.cycle.triggerWait()
            func metrics(_ port: Int?) async throws -> String {
                let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(try #require(port))/metrics")!)
                return String(decoding: body, as: UTF8.self)
            }
            let api = try await metrics(await planet.api.debug?.listeningPort())
            #expect(api.contains(#"satellite_api_requests_total{method="POST",route="/v1/contact/checkin",status="200"} 1"#), "\(api)")
            #expect(api.contains(#"satellite_api_requests_total{method="POST",route="/v1/contact/checkin",status="400"} 1"#))
            // Routes are templates: an id does not make a series of its own.
            #expect(api.contains(#"route="/v1/buckets/{bucket}",status="404""#) || api.contains(#"route="/v1/buckets/:bucket",status="404""#), "\(api)")
            let core = try await metrics(await planet.core.debug?.listeningPort())
            #expect(core.contains(#"satellite_chore_duration_seconds_count{chore="repair:checker"} 1"#), "\(core)")
            #expect(core.contains("satellite_repair_queue_length"))
        }
    }
}

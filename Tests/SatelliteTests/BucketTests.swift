import Foundation
import Satellite
import SatelliteDB
import TestPlanet
import Testing

/// Buckets over HTTP: authentication, the life of a bucket, paging, and bad input.
@Suite(.timeLimit(.minutes(1)))
struct BucketTests {
    private func json(_ text: String) -> Data { Data(text.utf8) }

    @Test func aKeyOpensOnlyItsOwnProjectsBuckets() async throws {
        try await TestPlanet.run { planet in
            let alice = try await planet.makeProject("alice")
            let bob = try await planet.makeProject("bob")
            let created = try await planet.request("POST", "/v1/buckets", body: json(#"{"name":"photos"}"#), headers: ["Authorization": "Bearer \(alice)"])
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json?["name"] as? String == "photos")
            #expect(created.json?["created_at"] is String)
            #expect(!created.text.contains("\n") && !created.text.contains(" : "), "compact JSON: \(created.text)")

            let again = try await planet.request("POST", "/v1/buckets", body: json(#"{"name":"photos"}"#), headers: ["Authorization": "Bearer \(alice)"])
            #expect(again.status == 409)
            #expect(again.error?.code == "conflict")

            // Bob's project has its own namespace.
            let bobs = try await planet.request("POST", "/v1/buckets", body: json(#"{"name":"photos"}"#), headers: ["Authorization": "Bearer \(bob)"])
            #expect(bobs.status == 201)
            let bobDeletes = try await planet.request("DELETE", "/v1/buckets/photos", headers: ["Authorization": "Bearer \(bob)"])
            #expect(bobDeletes.status == 204)
            let alicesList = try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(alice)"])
            #expect((alicesList.json?["buckets"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["photos"])

            let missing = try await planet.request("DELETE", "/v1/buckets/nothing-here", headers: ["Authorization": "Bearer \(alice)"])
            #expect(missing.status == 404)
            #expect(missing.error?.code == "not_found")
        }
    }

    @Test(arguments: [nil, "Bearer", "Basic abc", "Bearer 1234", "Bearer " + String(repeating: "0", count: 64)])
    func missingOrBadKeysAre401(authorization: String?) async throws {
        try await TestPlanet.run { planet in
            _ = try await planet.makeProject("alice")
            let headers = authorization.map { ["Authorization": $0] } ?? [:]
            for (method, path, body) in [("GET", "/v1/buckets", nil), ("POST", "/v1/buckets", json(#"{"name":"photos"}"#)), ("DELETE", "/v1/buckets/photos", nil)] as [(String, String, Data?)] {
                let answer = try await planet.request(method, path, body: body, headers: headers)
                #expect(answer.status == 401, "\(method) \(path): \(answer.text)")
                #expect(answer.error?.code == "unauthorized")
            }
            #expect(try await planet.database.listBuckets(project: #require(try planet.database.project(named: "alice")).id, after: nil, limit: 10).isEmpty)
        }
    }

    @Test func listingPagesInNameOrder() async throws {
        try await TestPlanet.run { planet in
            let key = try await planet.makeProject("pager")
            let names = (0..<7).map { "bucket-\($0)" }.shuffled()
            for name in names {
                #expect(try await planet.request("POST", "/v1/buckets", body: json(#"{"name":"\#(name)"}"#), headers: ["Authorization": "Bearer \(key)"]).status == 201)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = "/v1/buckets?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await planet.request("GET", query, headers: ["Authorization": "Bearer \(key)"])
                #expect(page.status == 200, "\(page.text)")
                seen += (page.json?["buckets"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                cursor = page.json?["next_cursor"] as? String
            } while cursor != nil && seen.count < 20
            #expect(seen == names.sorted())
            for limit in ["0", "1001", "abc"] {
                let bad = try await planet.request("GET", "/v1/buckets?limit=\(limit)", headers: ["Authorization": "Bearer \(key)"])
                #expect(bad.status == 400, "limit=\(limit): \(bad.text)")
                #expect(bad.error?.code == "bad_request")
            }
        }
    }

    @Test(arguments: ["ab", "Photos", "-photos", "photos-", "has space", "ünïcode", String(repeating: "a", count: 64)])
    func badBucketNamesAre400(name: String) async throws {
        try await TestPlanet.run { planet in
            let key = try await planet.makeProject("names")
            let body = try JSONSerialization.data(withJSONObject: ["name": name])
            let answer = try await planet.request("POST", "/v1/buckets", body: body, headers: ["Authorization": "Bearer \(key)"])
            #expect(answer.status == 400, "\(name): \(answer.text)")
            #expect(answer.error?.message.contains("name") == true)
        }
    }
}

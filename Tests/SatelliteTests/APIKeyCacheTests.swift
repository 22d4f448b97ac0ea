import Foundation
import GRDB
@testable import Satellite
import SatelliteDB
import SatelliteDBSQLite
import TestPlanet
import Testing

/// The API's cache of presented keys: a key that opened its project is believed for
/// `metainfo.api-key-cache-expiration` without a database read, and no longer.
@Suite(.timeLimit(.minutes(1)))
struct APIKeyCacheTests {
    private let project = ProjectRecord(id: Data(repeating: 7, count: 16), name: "photos")

    private func hash(_ byte: UInt8) -> Data { Data(repeating: byte, count: 32) }

    @Test func anEntryIsBelievedUntilItExpires() {
        let cache = APIKeyCache(expiration: .seconds(60), capacity: 10)
        let start = ContinuousClock.now
        #expect(cache.project(forSecretHash: hash(1), now: start) == nil)
        cache.remember(project, forSecretHash: hash(1), now: start)
        #expect(cache.project(forSecretHash: hash(1), now: start + .seconds(59)) == project)
        #expect(cache.project(forSecretHash: hash(1), now: start + .seconds(60)) == nil)
        #expect(cache.count == 0, "an expired entry is dropped when it is found expired")
    }

    @Test func itNeverHoldsMoreThanItsCapacityAndDropsExpiredEntriesFirst() {
        let cache = APIKeyCache(expiration: .seconds(10), capacity: 3)
        let start = ContinuousClock.now
        cache.remember(project, forSecretHash: hash(1), now: start)
        cache.remember(project, forSecretHash: hash(2), now: start + .seconds(5))
        cache.remember(project, forSecretHash: hash(3), now: start + .seconds(5))
        // The first has expired by then: it goes, and the two fresh ones stay.
        cache.remember(project, forSecretHash: hash(4), now: start + .seconds(11))
        #expect(cache.count == 3)
        #expect(cache.project(forSecretHash: hash(1), now: start + .seconds(11)) == nil)
        for byte: UInt8 in [2, 3, 4] {
            #expect(cache.project(forSecretHash: hash(byte), now: start + .seconds(11)) == project)
        }
        // Nothing has expired: one arbitrary entry makes room.
        for byte: UInt8 in 5...20 {
            cache.remember(project, forSecretHash: hash(byte), now: start + .seconds(12))
            #expect(cache.count <= 3)
        }
        #expect(cache.project(forSecretHash: hash(20), now: start + .seconds(12)) == project)
    }

    @Test func aZeroExpirationOrCapacityKeepsNothing() {
        for cache in [APIKeyCache(expiration: .zero, capacity: 10), APIKeyCache(expiration: .seconds(60), capacity: 0)] {
            cache.remember(project, forSecretHash: hash(1))
            #expect(cache.count == 0)
            #expect(cache.project(forSecretHash: hash(1)) == nil)
        }
    }

    /// Deletes every API key row from a connection of the test's own, as an operator's `sqlite3`
    /// shell would: what the API answers then tells whether it asked the database.
    private func deleteEveryKey(_ planet: TestPlanet) throws {
        let queue = try DatabaseQueue(path: planet.sqlite.path)
        try queue.write { try $0.execute(sql: "DELETE FROM api_keys") }
        try queue.close()
    }

    @Test func theAPIBelievesAKeyItHasSeenWithoutAskingTheDatabase() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.metainfo.apiKeyCacheExpiration = .seconds(3600) }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let key = try await planet.makeProject("photos")
            let unseen = try await APIKeys(db: planet.database).create(project: "photos")
            #expect(try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(key)"]).status == 200)
            try deleteEveryKey(planet)
            let cached = try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(key)"])
            #expect(cached.status == 200, "the key seen before the delete is still in the cache: \(cached.text)")
            let never = try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(unseen)"])
            #expect(never.status == 401, "a key first presented after the delete is looked up, and is gone: \(never.text)")
        }
    }

    @Test func aKeyIsAskedForAgainOnceItsEntryExpires() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.metainfo.apiKeyCacheExpiration = .milliseconds(200) }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let key = try await planet.makeProject("photos")
            #expect(try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(key)"]).status == 200)
            try deleteEveryKey(planet)
            let deadline = ContinuousClock.now + .seconds(20)
            var status = 0
            while ContinuousClock.now < deadline {
                status = try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(key)"]).status
                if status == 401 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == 401, "the deleted key was still believed 20 s after its 200 ms entry")
        }
    }

    @Test func withTheCacheOffEveryRequestAsksTheDatabase() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.metainfo.apiKeyCacheExpiration = .zero }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let key = try await planet.makeProject("photos")
            #expect(try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(key)"]).status == 200)
            try deleteEveryKey(planet)
            #expect(try await planet.request("GET", "/v1/buckets", headers: ["Authorization": "Bearer \(key)"]).status == 401)
        }
    }
}

import Foundation
import SatelliteDB
import SatelliteSettings
import SatelliteDBPostgres
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `satellite run` on a PostgreSQL server: every peer up on the shared database.
@Suite(.timeLimit(.minutes(2)))
struct PostgresLaunchTests {
    static let server: DatabaseURL.PostgresAddress? = {
        guard let text = ProcessInfo.processInfo.environment["SATELLITE_TEST_POSTGRES"], !text.isEmpty,
            case .postgres(let address) = try? DatabaseURL(parsing: text)
        else { return nil }
        return address
    }()

    @Test(.enabled(if: server != nil, "no PostgreSQL server (SATELLITE_TEST_POSTGRES is unset)"))
    func everyPeerComesUpOnPostgreSQLAndTheAPIWritesAndReadsThere() async throws {
        var address = try #require(Self.server)
        address.schema = "launch_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let url = "--database.url=\(address)"
        let port = try freePort()
        let satellite = try LaunchedSatellite(flags: ["--debug.address=127.0.0.1:0", "--api.address=127.0.0.1:\(port)", url])
        defer { satellite.killAll() }
        let database = try await PostgreSQLDatabase(address: address, password: nil, maxConnections: 2)
        do {
            try await satellite.until("every process ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
            #expect(satellite.events.filter { $0.msg == "spawned" }.map(\.process) == ["migration", "core", "api", "repairer"])
            #expect(satellite.logText("migration").contains(address.description), "the migration names the server, without a password")
            #expect(!FileManager.default.fileExists(atPath: satellite.dataDir + "/satellite.db"), "no SQLite file beside a server")
            #expect(try await database.isUpToDate())

            // The operator's commands work on the same server.
            #expect(try await SatelliteProcess.run(["admin", "create-project", "demo", "--data-dir", satellite.dataDir, url]).status == 0)
            let made = try await SatelliteProcess.run(["admin", "create-api-key", "demo", "--data-dir", satellite.dataDir, url])
            #expect(made.status == 0, "\(made.stderr)")
            let key = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            var create = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/buckets")!)
            create.httpMethod = "POST"
            create.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            create.setValue("application/json", forHTTPHeaderField: "Content-Type")
            create.httpBody = Data(#"{"name":"photos"}"#.utf8)
            let (_, created) = try await URLSession.shared.data(for: create)
            #expect((created as? HTTPURLResponse)?.statusCode == 201)
            let project = try #require(try await database.project(named: "demo"))
            #expect(try await database.listBuckets(project: project.id, after: nil, limit: 10).map(\.name) == ["photos"])
            var list = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/buckets")!)
            list.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            let (body, listed) = try await URLSession.shared.data(for: list)
            #expect((listed as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: body, as: UTF8.self).contains(#""name":"photos""#))

            kill(satellite.pid, SIGTERM)
            #expect(try await satellite.exitStatus() == 0)
            for peer in ["core", "api", "repairer"] { #expect(satellite.logText(peer).contains(#""msg":"stopped""#), "\(peer) did not stop gracefully") }
        } catch {
            try? await database.dropSchema()
            try? await database.close()
            throw error
        }
        try await database.dropSchema()
        try await database.close()
    }
}

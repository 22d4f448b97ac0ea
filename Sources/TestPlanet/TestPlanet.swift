import Foundation
import Identity
import Lifecycle
import Logging
import PeerRuntime
import Satellite
import SatelliteDB
import SatelliteDBPostgres
import SatelliteDatabases
import StorageNode
import Supervision

/// The satellite's peers in one process, on a temporary database, for tests.
///
/// Each peer gets its own config from the defaults, with its debug endpoint on a free loopback
/// port; a test changes any of them through ``Reconfigure`` before the peers are made (Storj's
/// "add config to testplanet"). ``run(reconfigure:log:_:)`` always stops and closes the peers and
/// removes the directory, also when the body throws.
public final class TestPlanet: Sendable {
    /// Changes to each peer's configuration before it is made.
    public struct Reconfigure: Sendable {
        public var core: @Sendable (inout Core.Config) -> Void = { _ in }
        public var api: @Sendable (inout API.Config) -> Void = { _ in }
        public var repairer: @Sendable (inout Repairer.Config) -> Void = { _ in }
        /// The shared database's `database.busy-timeout`.
        public var busyTimeout: Duration = .seconds(5)
        /// Storage nodes to run beside the satellite, each a real ``StorageNodePeer`` serving
        /// the piece protocol on loopback and trusting the planet's satellite identity.
        public var storageNodeCount = 0
        /// Changes to node `index`'s configuration before it is made.
        public var storageNode: @Sendable (Int, inout StorageNodeConfiguration) -> Void = { _, _ in }

        public init() {}
    }

    public let directory: URL
    public let database: any SatelliteDatabase
    public let core: Core
    public let api: API
    public let repairer: Repairer
    /// The satellite's identity, which the planet's storage nodes trust.
    public let satelliteIdentity: PeerIdentity
    /// The storage nodes, in the order they were made; each has checked in once when the body runs.
    public let storageNodes: [StorageNodePeer]
    /// The peers as task services, as the launcher runs them as process services: the API comes
    /// after Core and the Repairer after the API, so they stop in the launcher's reverse order.
    public let services: ServiceList
    /// The simulated nodes checked in through ``checkIn(_:)``.
    let simulatedNodes = SimulatedNodeDirectory()

    private init(
        directory: URL, database: any SatelliteDatabase, core: Core, api: API, repairer: Repairer, satelliteIdentity: PeerIdentity,
        storageNodes: [StorageNodePeer], services: ServiceList
    ) {
        self.directory = directory
        self.database = database
        self.core = core
        self.api = api
        self.repairer = repairer
        self.satelliteIdentity = satelliteIdentity
        self.storageNodes = storageNodes
        self.services = services
    }

    /// Makes a planet, runs its peers while `body` runs, then stops them gradually (repairer,
    /// api, core; whatever has not stopped after `stopDeadline` is cancelled), closes them and
    /// deletes the temporary directory.
    public static func run<T: Sendable>(
        reconfigure: Reconfigure = Reconfigure(),
        log: Logger = Logger(label: "testplanet", factory: { _ in SwiftLogNoOpLogHandler() }),
        stopDeadline: Duration = .seconds(30),
        _ body: @Sendable (TestPlanet) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("testplanet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var databaseConfig = DatabaseConfig()
        databaseConfig.busyTimeout = reconfigure.busyTimeout
        if var server = postgresServer {
            // A schema of the planet's own on the shared test server, dropped at the end.
            server.schema = "planet_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            databaseConfig.url = .postgres(server)
            databaseConfig.maxConnections = 8
        }
        let database = try await SatelliteDatabases.open(databaseConfig, dataDir: directory.path)
        // Made in order, closed in reverse, every one even when one fails to close; a peer that
        // fails to be made closes the ones made before it. The database is closed last.
        let peers = PeerGroup(logger: log)
        peers.add(PeerItem(name: "database", close: {
            try await (database as? PostgreSQLDatabase)?.dropSchema()
            try await database.close()
        }))
        do {
            try await MigrationPeer(log: log, database: database).run()
        } catch {
            _ = await peers.close()
            throw error
        }

        var coreConfig = Core.Config()
        coreConfig.debug.address = "127.0.0.1:0"
        // Chores run when a test triggers them (`cycle.triggerWait()`), not on a clock.
        coreConfig.checker.interval = nil
        coreConfig.tally.interval = nil
        coreConfig.deletion.interval = nil
        reconfigure.core(&coreConfig)
        var apiConfig = API.Config()
        apiConfig.debug.address = "127.0.0.1:0"
        apiConfig.api.address = "127.0.0.1:0"
        // A small erasure code, so that a handful of simulated nodes can hold a segment.
        apiConfig.metainfo.redundancy = "2/3/4/5"
        apiConfig.metainfo.maxSegmentSize = 1 << 20
        // A node is offered the moment it checks in, and not once it is taken offline.
        apiConfig.overlay.selectionCacheStaleness = .zero
        // Nodes are vetted at once: a planet's nodes are not audited a hundred times first.
        apiConfig.overlay.vettingAudits = 0
        // Simulated nodes live on private addresses, and all check in from loopback.
        apiConfig.contact.allowPrivateAddresses = true
        apiConfig.contact.maxNodesPerSource = 0
        apiConfig.contact.maxNodesPerSourceNetwork = 0
        reconfigure.api(&apiConfig)
        var repairerConfig = Repairer.Config()
        repairerConfig.debug.address = "127.0.0.1:0"
        repairerConfig.repairer.interval = nil
        repairerConfig.gc.interval = nil
        repairerConfig.audit.interval = nil
        repairerConfig.gc.grace = .zero
        repairerConfig.metainfo.maxSegmentSize = 1 << 20
        repairerConfig.overlay.selectionCacheStaleness = .zero
        repairerConfig.overlay.vettingAudits = 0
        reconfigure.repairer(&repairerConfig)

        let satelliteIdentity = PeerIdentity.generate()
        let core: Core
        let api: API
        let repairer: Repairer
        do {
            core = try await Core(log: log, database: database, config: coreConfig)
            peers.add(PeerItem(name: Core.name, close: { try await core.close() }))
            api = try await API(log: log, database: database, identity: satelliteIdentity, config: apiConfig)
            peers.add(PeerItem(name: API.name, close: { try await api.close() }))
            repairer = try await Repairer(log: log, database: database, identity: satelliteIdentity, config: repairerConfig)
            peers.add(PeerItem(name: Repairer.name, close: { try await repairer.close() }))
        } catch {
            _ = await peers.close()
            throw error
        }
        let coreService = TaskService(name: Core.name, tags: ["peer"], work: core.run, shutdown: core.shutdown)
        let apiService = TaskService(name: API.name, tags: ["peer"], work: api.run, shutdown: api.shutdown)
        let repairerService = TaskService(name: Repairer.name, tags: ["peer"], work: repairer.run, shutdown: repairer.shutdown)
        coreService.addDependant(apiService)
        apiService.addDependant(repairerService)
        var services = ServiceList([coreService, apiService, repairerService])
        var storageNodes: [StorageNodePeer] = []
        let result: Result<T, any Error>
        do {
            try await services.start()
            if reconfigure.storageNodeCount > 0 {
                guard let port = await api.server.listeningPort() else { throw TestPlanetError.apiNotListening }
                for index in 0..<reconfigure.storageNodeCount {
                    var config = StorageNodeConfiguration()
                    config.dataDir = directory.appendingPathComponent("node\(index + 1)").path
                    config.server.address = "127.0.0.1:0"
                    config.contact.satelliteURL = "http://127.0.0.1:\(port)"
                    config.contact.satelliteID = satelliteIdentity.id.hex
                    // Checked in once here, then when a test triggers it.
                    config.contact.interval = nil
                    config.storage.trashInterval = nil
                    config.orders.settlementInterval = nil
                    config.storage.usedSpaceInterval = nil
                    reconfigure.storageNode(index, &config)
                    let node = try await StorageNodePeer(log: log, identity: .generate(), config: config, shutdownTimeout: .seconds(10))
                    peers.add(PeerItem(name: "node\(index + 1)", close: { try await node.close() }))
                    storageNodes.append(node)
                    // Nodes check in with the API: they stop before it.
                    let service = TaskService(name: "node\(index + 1)", tags: ["storagenode"], work: node.run, shutdown: node.shutdown)
                    apiService.addDependant(service)
                    services = ServiceList(services.services + [service])
                    try await service.start()
                    await node.contact.cycle.triggerWait()
                }
            }
            let planet = TestPlanet(
                directory: directory, database: database, core: core, api: api, repairer: repairer, satelliteIdentity: satelliteIdentity,
                storageNodes: storageNodes, services: services
            )
            result = .success(try await body(planet))
        } catch {
            result = .failure(error)
        }
        let survivors = await services.stopGradually(deadline: stopDeadline)
        if !survivors.isEmpty {
            log.error("peers did not stop, even when cancelled", metadata: ["peers": .array(survivors.names.map { .string($0) })])
        }
        // The body's own error, if any, is the one reported.
        let closeError = await peers.close().failures.first
        let value = try result.get()
        if let closeError { throw closeError }
        return value
    }
}

extension TestPlanet {
    /// The PostgreSQL server every planet's database is on when `SATELLITE_TEST_PLANET_POSTGRES`
    /// names one (`scripts/test` runs the API's suites so, a second time); nil: an SQLite file
    /// in the planet's directory.
    public static let postgresServer: DatabaseURL.PostgresAddress? = {
        guard let text = ProcessInfo.processInfo.environment["SATELLITE_TEST_PLANET_POSTGRES"], !text.isEmpty,
            case .postgres(let address) = try? DatabaseURL(parsing: text)
        else { return nil }
        return address
    }()
}

extension TestPlanet {
    /// Stops storage node `index` (0-based) and waits until it has: its piece server no longer
    /// answers, while the satellite still counts it online until its check-ins are missed.
    public func stopStorageNode(_ index: Int, timeout: Duration = .seconds(15)) async {
        for service in services.named("node\(index + 1)").services {
            await service.stop()
            _ = await service.waitUntilStopped(timeout: timeout)
        }
    }

    /// Stops storage node `index` and makes the satellite count it offline at once, as it would
    /// once the node's check-ins had been missed for the online window.
    public func takeStorageNodeDown(_ index: Int) async throws {
        await stopStorageNode(index)
        try await database.recordContactSuccess(
            id: storageNodes[index].identity.id.bytes, at: Date(timeIntervalSinceNow: -Double(core.checker.onlineWindowSeconds) - 60)
        )
    }
}

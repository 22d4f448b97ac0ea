import ArgumentParser
import Foundation
import Identity
import Launch
import PeerCommandLine
import PeerRuntime
import Satellite
import SatelliteConfig
import SatelliteDB
import SatelliteDatabases
import StorageNode
import Supervision
import Uplink

/// `satellite network`: a whole network on one machine, as Storj's storj-sim makes one.
struct Network: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A whole network on one machine: the satellite's peers and storage nodes under one launcher.",
        subcommands: [Setup.self]
    )

    struct Setup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a network's satellite, nodes, project and launcher config into a directory; print its access on the last line.",
            discussion: """
                Then `satellite run --config DIR/satellite.yaml` runs all of it (the launcher starts \
                the migration, core, api, repairer and every node), `satellite status --config \
                DIR/satellite.yaml` shows it, and Ctrl-C stops it in reverse order. The access on \
                the last line is what `uplink --access` or UPLINK_ACCESS takes. Never overwrites.
                """
        )

        @Option(help: "the network's directory") var dir: String
        @Option(help: "how many storage nodes (10: redundancy 4/6/8/10; 110 or more: 29/35/80/110; 5 to 9: 2/3/4/5)") var nodes = 10
        @Option(help: "the API's port; node i listens on the port plus i") var basePort = 17777
        @Option(help: "the storagenode executable (default: the one beside this satellite)") var storagenode: String?

        func validate() throws {
            guard nodes >= 5 else { throw ValidationError("--nodes must be 5 or more (a segment needs at least 5 distinct nodes)") }
            guard (1024...(65535 - nodes)).contains(basePort) else { throw ValidationError("--base-port must leave room for \(nodes) node ports below 65536") }
        }

        /// The erasure code a network of `nodes` nodes can hold.
        static func redundancy(nodes: Int) -> String {
            nodes >= 110 ? "29/35/80/110" : nodes >= 10 ? "4/6/8/10" : "2/3/4/5"
        }

        func run() async throws {
            let root = URL(fileURLWithPath: dir).standardizedFileURL.path
            let configPath = root + "/satellite.yaml"
            let nodeDirs = (1...nodes).map { root + "/node\($0)" }
            try SetupFiles.refuseOverwriting([configPath, root + "/satellite"] + nodeDirs)
            let program = storagenode ?? Launcher.besideSelf("storagenode")
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw ValidationError("no storagenode executable at \(program); build it (swift build --product storagenode) or pass --storagenode")
            }
            let satelliteURL = "http://127.0.0.1:\(basePort)"
            var config = SatelliteConfiguration()
            config.dataDir = root + "/satellite"
            config.api.address = "127.0.0.1:\(basePort)"
            // Every node is on loopback, one network, and checks in from one address.
            config.contact.allowPrivateAddresses = true
            config.contact.maxNodesPerSource = 0
            config.contact.maxNodesPerSourceNetwork = 0
            config.overlay.distinctNetworks = false
            // Nothing audits a fresh network's nodes a hundred times before its first upload.
            config.overlay.vettingAudits = 0
            config.metainfo.redundancy = Self.redundancy(nodes: nodes)
            config.processes = ProcessEntry.satelliteDefaults + (1...nodes).map { index in
                var entry = ProcessEntry(name: "node\(index)", program: .exec(program))
                entry.arguments = ["run", "--config", nodeDirs[index - 1] + "/storagenode.yaml"]
                entry.notify = true
                entry.after = ["api"]
                // A node stopped on purpose (SIGTERM, exit 0) stays down, as a node that leaves a
                // network does, so that what the network does without it can be watched; one
                // that crashes comes back.
                entry.restart = .onFailure
                return entry
            }
            let access: Access
            do {
                try SetupFiles.makeDirectory(root, mode: 0o700)
                try SetupFiles.makeDirectory(config.dataDir, mode: 0o700)
                try SetupFiles.makeDirectory(config.logDirectory, mode: 0o750)
                let apiKey = try await SatelliteDatabases.with(config.database, dataDir: config.dataDir) { database in
                    try await database.migrate()
                    try await Projects(db: database).create(name: "network")
                    return try await APIKeys(db: database).create(project: "network", name: "satellite network setup")
                }
                let satellite = try IdentityFile.create(at: config.identityPath)
                for (index, nodeDir) in nodeDirs.enumerated() {
                    var node = StorageNodeConfiguration()
                    node.dataDir = nodeDir
                    node.server.address = "127.0.0.1:\(basePort + index + 1)"
                    node.contact.satelliteURL = satelliteURL
                    node.contact.satelliteID = satellite.id.hex
                    node.debug.address = ""
                    try SetupFiles.makeDirectory(nodeDir, mode: 0o700)
                    try IdentityFile.create(at: node.identityPath)
                    try SetupFiles.writeConfig(StorageNodeConfiguration.schema.render(node, help: false), to: nodeDir + "/storagenode.yaml")
                }
                try SetupFiles.writeConfig(SatelliteConfiguration.schema.render(config, help: true), to: configPath)
                // The passphrase only salts this access's root key; the access holds the key itself.
                let passphrase = String((0..<24).map { _ in "abcdefghijkmnpqrstuvwxyz23456789".randomElement()! })
                access = try Access.derive(satelliteURL: satelliteURL, satelliteID: satellite.id, apiKey: apiKey, passphrase: passphrase)
            } catch {
                FileHandle.standardError.write(Data("network setup: \(error)\n".utf8))
                throw ExitCode.failure
            }
            print("a network of \(nodes) storage nodes (redundancy \(config.metainfo.redundancy)) in \(root)")
            print("run it:   satellite run --config \(configPath)")
            print("use it:   UPLINK_ACCESS=<the line below> uplink mb sj://files")
            print(access.serialized)
        }
    }
}

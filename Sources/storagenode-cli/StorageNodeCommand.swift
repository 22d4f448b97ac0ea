import ArgumentParser
import Foundation
import Identity
import Logging
import PeerCommandLine
import PeerRuntime
import SatelliteConfig
import StorageNode

/// The `storagenode` executable: a thin layer that loads configuration and hands over to the library.
@main
struct StorageNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storagenode",
        abstract: "A storage node: stores pieces for the satellite it trusts.",
        discussion: """
            Configuration comes from, lowest precedence first: built-in defaults, the YAML file of \
            --config, environment variables (STORAGENODE_CONTACT_SATELLITE_URL sets \
            contact.satellite-url), and flags (--contact.satellite-url=http://127.0.0.1:7777). \
            `storagenode config --defaults` lists every key.

            Exit status: 0 success, 1 failure, 64 usage error, 78 configuration error.
            """,
        version: StorageNodeVersion.current,
        subcommands: [Setup.self, Run.self, ConfigCommand<StorageNodeConfiguration>.self]
    )
}

extension ConfigOptions {
    /// The node's configuration, or the error printed and exit 78 before anything is touched.
    func load() throws -> StorageNodeConfiguration {
        try load(StorageNodeConfiguration.schema)
    }
}

/// `storagenode setup`: a data directory with the node's identity and a config file to start from.
struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the data directory, the node's identity and a config file; never overwrites an existing one."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let configPath = config.dataDir + "/storagenode.yaml"
        try SetupFiles.refuseOverwriting([configPath, config.identityPath])
        let identity: PeerIdentity
        do {
            try SetupFiles.makeDirectory(config.dataDir, mode: 0o700)
            identity = try IdentityFile.create(at: config.identityPath)
            try SetupFiles.writeConfig(StorageNodeConfiguration.schema.render(config, help: true), to: configPath)
        } catch {
            FileHandle.standardError.write(Data("setup: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print("created \(config.identityPath) and \(configPath); node id: \(identity.id.hex)")
        print("set contact.satellite-url and contact.satellite-id, then: storagenode run --config \(configPath)")
    }
}

/// `storagenode run`: the node in the foreground until SIGTERM or SIGINT.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the storage node in the foreground.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        guard !config.contact.satelliteID.isEmpty else {
            FileHandle.standardError.write(Data("storagenode: contact.satellite-id is not set: the node trusts no satellite; set it to the id `satellite setup` printed\n".utf8))
            throw ExitCode(78)
        }
        let identity: PeerIdentity
        do {
            identity = try IdentityFile.load(from: config.identityPath)
        } catch {
            FileHandle.standardError.write(Data("storagenode: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let (log, level) = ProcessLogging.bootstrap(process: StorageNodePeer.name, config: config.log, label: "storagenode")
        do {
            let node = try await StorageNodePeer(log: log, identity: identity, config: config)
            log.info("starting", metadata: ["node": "\(identity.id.hex)", "satellite": "\(config.contact.satelliteURL)"])
            try await runUntilSignalled(node, log: log, heartbeatInterval: .seconds(1), level: level, version: StorageNodeVersion.current)
        } catch {
            log.critical("storagenode failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

extension StorageNodeConfiguration: PeerConfiguration {}

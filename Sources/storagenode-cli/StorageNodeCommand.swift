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
        subcommands: [Setup.self, Run.self, Config.self]
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
        let files = FileManager.default
        let configPath = config.dataDir + "/storagenode.yaml"
        for existing in [configPath, config.identityPath] where files.fileExists(atPath: existing) {
            FileHandle.standardError.write(Data("setup: \(existing) already exists; not overwriting it\n".utf8))
            throw ExitCode.failure
        }
        let identity: PeerIdentity
        do {
            try files.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
            try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: config.dataDir)
            identity = try IdentityFile.create(at: config.identityPath)
            let text = StorageNodeConfiguration.schema.render(config, help: true)
            guard files.createFile(atPath: configPath, contents: Data(text.utf8), attributes: [.posixPermissions: 0o640]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: configPath])
            }
            try files.setAttributes([.posixPermissions: 0o640], ofItemAtPath: configPath)
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
            try await runUntilSignalled(node, log: log, heartbeatInterval: .seconds(1), level: level)
        } catch {
            log.critical("storagenode failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

/// `storagenode config`: what the node would run with.
struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the effective configuration as YAML.",
        discussion: "With --defaults, print every key's built-in default with its help as a comment."
    )

    @Flag(help: "Print the built-in defaults, each key with its help.")
    var defaults = false

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let schema = StorageNodeConfiguration.schema
        print(schema.render(defaults ? StorageNodeConfiguration() : try options.load(), help: defaults), terminator: "")
    }
}

import ArgumentParser
import Foundation
import Identity
import PeerCommandLine
import Satellite
import SatelliteConfig
import SatelliteDB
import SatelliteDatabases

/// `satellite setup`: a data directory, a migrated database and a config file to start from.
struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the data directory, the database and a config file; never overwrites an existing one."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let configPath = config.dataDir + "/satellite.yaml"
        try SetupFiles.refuseOverwriting([configPath, config.identityPath] + (config.sqlitePath.map { [$0] } ?? []))
        var identity: PeerIdentity?
        // Whatever the umask: the directory is its owner's alone (the database holds every
        // project, bucket and key hash), the log directory and config file its group's to read.
        do {
            try SetupFiles.makeDirectory(config.dataDir, mode: 0o700)
            try SetupFiles.makeDirectory(config.logDirectory, mode: 0o750)
            try await SatelliteDatabases.with(config.database, dataDir: config.dataDir) { database in try await database.migrate() }
            identity = try IdentityFile.create(at: config.identityPath)
            try SetupFiles.writeConfig(SatelliteConfiguration.schema.render(config, help: true), to: configPath)
        } catch {
            FileHandle.standardError.write(Data("setup: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print("created \(config.databaseLocation), \(config.identityPath) and \(configPath); start a peer with: satellite run core --config \(configPath)")
        if let identity { print("satellite id: \(identity.id.hex) (storage nodes trust this id)") }
    }
}

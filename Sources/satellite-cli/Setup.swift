import ArgumentParser
import Foundation
import Identity
import PeerCommandLine
import Satellite
import SatelliteConfig
import SatelliteDB

/// `satellite setup`: a data directory, a migrated database and a config file to start from.
struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the data directory, the database and a config file; never overwrites an existing one."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let files = FileManager.default
        let configPath = config.dataDir + "/satellite.yaml"
        for existing in [configPath, config.databasePath, config.identityPath] where files.fileExists(atPath: existing) {
            FileHandle.standardError.write(Data("setup: \(existing) already exists; not overwriting it\n".utf8))
            throw ExitCode.failure
        }
        var identity: PeerIdentity?
        // Whatever the umask: the directory is its owner's alone (the database holds every
        // project, bucket and key hash), the log directory and config file its group's to read.
        do {
            try files.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
            try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: config.dataDir)
            try files.createDirectory(atPath: config.logDirectory, withIntermediateDirectories: true)
            try files.setAttributes([.posixPermissions: 0o750], ofItemAtPath: config.logDirectory)
            let database = try SatelliteDatabase(path: config.databasePath, busyTimeout: config.database.busyTimeout)
            defer { try? database.close() }
            try database.migrate()
            identity = try IdentityFile.create(at: config.identityPath)
            let text = SatelliteConfiguration.schema.render(config, help: true)
            guard files.createFile(atPath: configPath, contents: Data(text.utf8), attributes: [.posixPermissions: 0o640]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: configPath])
            }
            try files.setAttributes([.posixPermissions: 0o640], ofItemAtPath: configPath)
        } catch {
            FileHandle.standardError.write(Data("setup: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print("created \(config.databasePath), \(config.identityPath) and \(configPath); start a peer with: satellite run core --config \(configPath)")
        if let identity { print("satellite id: \(identity.id.hex) (storage nodes trust this id)") }
    }
}

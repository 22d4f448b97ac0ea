import ArgumentParser
import Foundation
import Logging
import Satellite
import SatelliteConfig
import SatelliteDB
import StructuredLogging

/// `satellite run [peer]`: one peer in the foreground, or the launcher.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one peer in the foreground, or with no peer the launcher of all of them."
    )

    enum Peer: String, ExpressibleByArgument, CaseIterable {
        case core, api, repairer, migration
    }

    @Argument(help: "The peer to run: core, api, repairer or migration. None: the launcher.")
    var peer: Peer?

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        guard let peer else {
            FileHandle.standardError.write(Data("run: the launcher is not part of this build yet; run one peer: satellite run core|api|repairer|migration\n".utf8))
            throw ExitCode(64)
        }
        let log = ProcessLogging.bootstrap(process: peer.rawValue, config: config.log)
        do {
            try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
            let database = try SatelliteDatabase(path: config.databasePath, busyTimeout: config.database.busyTimeout)
            defer { try? database.close() }
            switch peer {
            case .migration:
                try MigrationPeer(log: log, database: database).run()
            case .core:
                try await runUntilSignalled(Core(log: log, database: database, config: config.core), log: log)
            case .api:
                try await runUntilSignalled(API(log: log, database: database, config: config.apiPeer), log: log)
            case .repairer:
                try await runUntilSignalled(Repairer(log: log, database: database, config: config.repairer), log: log)
            }
        } catch {
            log.critical("\(peer.rawValue) failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

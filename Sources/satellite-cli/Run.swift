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
        guard let peer, peer == .migration else {
            let what = peer.map { "the \($0.rawValue) peer" } ?? "the launcher"
            FileHandle.standardError.write(Data("run: \(what) is not part of this build yet\n".utf8))
            throw ExitCode(64)
        }
        let log = ProcessLogging.bootstrap(process: peer.rawValue, config: config.log)
        do {
            try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
            let database = try SatelliteDatabase(path: config.databasePath, busyTimeout: config.database.busyTimeout)
            defer { try? database.close() }
            try MigrationPeer(log: log, database: database).run()
        } catch {
            log.critical("migration failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

import ArgumentParser
import Foundation
import Identity
import Launch
import Logging
import PeerCommandLine
import PeerRuntime
import Satellite
import SatelliteConfig
import SatelliteDB
import SatelliteDatabases
import StructuredLogging
import Supervision

/// `satellite run [peer]`: one peer in the foreground, or the launcher.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one peer in the foreground, or with no peer the launcher of all of them.",
        usage: "satellite run [core|api|repairer|migration] [--config <file>] [--key=value ...]"
    )

    @OptionGroup var options: ConfigOptions

    /// The peer is the first argument, if it is not a flag: `satellite run api --api.address=...`.
    /// Taken by hand because a positional before free-form `--key value` flags is ambiguous
    /// (`run --data-dir /srv` would read `/srv` as the peer).
    private func splitPeer() throws -> (peer: PeerName?, options: ConfigOptions) {
        let (first, options) = try ConfigOptions.firstWord(of: self.options)
        guard let first else { return (nil, options) }
        guard let peer = PeerName(rawValue: first) else {
            throw ValidationError("unknown peer '\(first)'; expected one of core, api, repairer, migration (or none, for the launcher)")
        }
        return (peer, options)
    }

    func run() async throws {
        let (peer, options) = try splitPeer()
        let config = try options.load()
        guard let peer else {
            try await Launcher.run(config: config, options: options)
            return
        }
        let heartbeat = config.supervisor.timings.heartbeatInterval
        let (log, level) = ProcessLogging.bootstrap(process: peer.rawValue, config: config.log, label: "satellite")
        do {
            try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // A peer the launcher started leaves the warning to the launcher, which said it once.
            if ProcessInfo.processInfo.environment["SATELLITE_PROCESS"] == nil { Launcher.warnIfDatabaseIsReadableByOthers(config) }
            try await SatelliteDatabases.with(config.database, dataDir: config.dataDir) { database in
                switch peer {
                case .migration:
                    try await MigrationPeer(log: log, database: database, identityPath: config.identityPath).run()
                case .core:
                    try await runUntilSignalled(Core(log: log, database: database, config: config.core), log: log, heartbeatInterval: heartbeat, level: level, version: SatelliteVersion.current)
                case .api:
                    var apiConfig = config.apiPeer
                    apiConfig.listenDescriptor = ProcessInfo.processInfo.environment["SATELLITE_LISTEN_FD"].flatMap(Int32.init)
                    let identity = try IdentityFile.load(from: config.identityPath)
                    try await runUntilSignalled(API(log: log, database: database, identity: identity, config: apiConfig), log: log, heartbeatInterval: heartbeat, level: level, version: SatelliteVersion.current)
                case .repairer:
                    let identity = try IdentityFile.load(from: config.identityPath)
                    try await runUntilSignalled(Repairer(log: log, database: database, identity: identity, config: config.repairerPeer), log: log, heartbeatInterval: heartbeat, level: level, version: SatelliteVersion.current)
                }
            }
        } catch let error as IdentityFileError {
            // The identity is configuration the operator has to fix: restarting will not help.
            log.critical("\(peer.rawValue) failed", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        } catch {
            log.critical("\(peer.rawValue) failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

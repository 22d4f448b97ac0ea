import ArgumentParser
import Foundation
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

/// `satellite run` with no peer: the satellite's configuration as a ``Launch`` (its peers run as
/// `satellite run PEER` with the launcher's own configuration; the API's socket is the
/// launcher's), handed over to the supervising launcher.
enum Launcher {
    static func run(config: SatelliteConfiguration, options: ConfigOptions) async throws {
        let environment = ProcessInfo.processInfo.environment
        let schema = SatelliteConfiguration.schema
        let launch = Launch(
            processes: config.processes,
            supervisor: config.supervisor,
            peer: Launch.PeerCommand(
                executable: selfExecutable(), leadingArguments: ["run"],
                trailingArguments: (options.file.map { ["--config", $0] } ?? []) + options.overrides,
                heartbeatVariable: schema.environmentVariable(for: "supervisor.heartbeat-interval"),
                stopTimeoutVariable: schema.environmentVariable(for: "supervisor.stop-timeout")
            ),
            logs: Launch.Logs(
                directory: config.logDirectory, maxSize: config.log.maxSize, maxFiles: config.log.maxFiles,
                journal: config.log.usesJournal(environment: environment), journalPrefix: "satellite-"
            ),
            levelDirectory: levelDirectory(config),
            configFile: options.file
        )
        warnIfDatabaseIsReadableByOthers(config)
        var specs: [ProcessSpec]
        do {
            specs = try launch.specs(environment: environment)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(78)
        }
        do {
            try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.createDirectory(atPath: config.logDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw failure("run: cannot create the log directory \(config.logDirectory): \((error as NSError).localizedDescription)")
        }
        // The API's listening sockets belong to the launcher, so that clients wait rather than
        // being refused while an API process restarts; one per instance.
        let apiIndexes = specs.indices.filter { index in
            config.processes.contains { $0.program == .peer(PeerName.api.rawValue) && Launch.instanceNames(of: $0).contains(specs[index].name) }
        }
        if !apiIndexes.isEmpty, let address = HostPort(config.api.address) {
            do throws(LaunchError) {
                let sockets = try Launch.listeningSockets(host: address.host, port: address.port, count: apiIndexes.count, environment: environment)
                for (index, socket) in zip(apiIndexes, sockets) { specs[index].listenDescriptor = socket }
            } catch {
                throw failure("run: api.address: \(error)")
            }
        }
        var settings = [
            "log-format": config.log.format.rawValue,
            "log-level": config.log.level.rawValue,
            "control-socket": config.controlSocketPath,
            "log-level-dir": launch.levelDirectory,
        ]
        if !config.supervisor.debugAddress.isEmpty { settings["debug-address"] = config.supervisor.debugAddress }
        if config.supervisor.debugReadOnly { settings["debug-read-only"] = "true" }
        // Under the journal the launcher's standard error is its log; otherwise a file too.
        if !launch.logs.journal { settings["log-file"] = config.logDirectory + "/satellite.log" }
        do throws(LaunchError) {
            try Launch.handOver(LaunchPlan(specs: specs, settings: settings), to: besideSelf("satellite-launcher"))
        } catch {
            throw failure("run: \(error)")
        }
    }

    /// Says once, before anything starts, that other users can read the database (one made by
    /// an older `satellite setup`, or copied in), and how to fix it.
    static func warnIfDatabaseIsReadableByOthers(_ config: SatelliteConfiguration) {
        for file in SatelliteDatabases.filesReadableByOthers(config.database, dataDir: config.dataDir) {
            let mode = String(file.mode, radix: 8)
            FileHandle.standardError.write(Data("warning: \(file.path) is readable by other users (mode \(mode)); it holds every project, bucket and key hash: chmod 600 \(file.path)\n".utf8))
        }
    }

    /// Prints `message` and gives the exit status of a launch that could not start.
    private static func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return ExitCode.failure
    }

    /// Where `satellite log-level LEVEL NAME` leaves a peer's new level: beside the control socket.
    static func levelDirectory(_ config: SatelliteConfiguration) -> String {
        URL(fileURLWithPath: config.controlSocketPath).deletingLastPathComponent().path
    }

    /// This executable's path, so that a peer runs the same build as its launcher.
    static func selfExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// A program built beside this executable.
    static func besideSelf(_ name: String) -> String {
        URL(fileURLWithPath: selfExecutable()).deletingLastPathComponent().appendingPathComponent(name).path
    }
}

import Launch
import Logging
import PeerConfig
import SatelliteConfig
import StructuredLogging
import Supervision

#if canImport(Glibc)
import Glibc
#endif

/// `satellite run` with no peer, from a loaded configuration to the ``LaunchPlan`` the launcher
/// supervises: the satellite's entries as ``ProcessSpec``s (its peers run as `PROGRAM run PEER`
/// with the launcher's own configuration), the data and log directories, and the API's listening
/// sockets, which belong to the launcher so that clients wait rather than being refused while an
/// API process restarts.
///
/// Both ways into the launcher build it here: the lean `satellite run`, which then supervises in
/// its own process, and the full CLI, which hands the plan over through a memfd; so both say the
/// same words for the same mistake.
public enum SatelliteLaunch {
    /// A launch that cannot start; nothing was started, and the message says what and where.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// 78 (EX_CONFIG) for the configuration, 1 for anything else.
        public let exitStatus: Int32
    }

    /// The plan, and the warnings to print before anything starts.
    /// - Parameters:
    ///   - configFile: the file the configuration came from, passed on to every peer.
    ///   - overrides: the `--key=value` flags, passed on to every peer.
    ///   - peerProgram: the executable the peers run as (`PROGRAM run PEER ...`).
    ///   - environment: this process's environment, which the children inherit.
    /// - Throws: ``Failure``; the sockets are opened last, so a failure leaves none open.
    public static func plan(
        _ config: SatelliteConfiguration, configFile: String?, overrides: [String], peerProgram: String, environment: [String: String]
    ) throws(Failure) -> (plan: LaunchPlan, warnings: [String]) {
        let schema = SatelliteConfiguration.schema
        let launch = Launch(
            processes: config.processes,
            supervisor: config.supervisor,
            peer: Launch.PeerCommand(
                executable: peerProgram, leadingArguments: ["run"],
                trailingArguments: (configFile.map { ["--config", $0] } ?? []) + overrides,
                heartbeatVariable: schema.environmentVariable(for: "supervisor.heartbeat-interval"),
                stopTimeoutVariable: schema.environmentVariable(for: "supervisor.stop-timeout")
            ),
            logs: Launch.Logs(
                directory: config.logDirectory, maxSize: config.log.maxSize, maxFiles: config.log.maxFiles,
                journal: config.log.usesJournal(environment: environment), journalPrefix: "satellite-"
            ),
            levelDirectory: levelDirectory(config),
            configFile: configFile
        )
        let warnings = databaseWarnings(config)
        var specs: [ProcessSpec]
        do {
            specs = try launch.specs(environment: environment)
        } catch let error as ConfigError {
            throw Failure(description: error.description, exitStatus: 78)
        } catch {
            throw Failure(description: "run: \(error)", exitStatus: 1)
        }
        for (what, directory, mode) in [("data", config.dataDir, mode_t(0o700)), ("log", config.logDirectory, mode_t(0o750))] {
            if let problem = makeDirectories(directory, mode: mode) {
                throw Failure(description: "run: cannot create the \(what) directory \(directory): \(problem)", exitStatus: 1)
            }
        }
        let apiIndexes = specs.indices.filter { index in
            config.processes.contains { $0.program == .peer(PeerName.api.rawValue) && Launch.instanceNames(of: $0).contains(specs[index].name) }
        }
        if !apiIndexes.isEmpty, let address = HostPort(config.api.address) {
            do throws(LaunchError) {
                let sockets = try Launch.listeningSockets(host: address.host, port: address.port, count: apiIndexes.count, environment: environment)
                for (index, socket) in zip(apiIndexes, sockets) { specs[index].listenDescriptor = socket }
            } catch {
                throw Failure(description: "run: api.address: \(error)", exitStatus: 1)
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
        return (LaunchPlan(specs: specs, settings: settings), warnings)
    }

    /// What to say, once and before anything starts, when other users can read the database (one
    /// made by an older `satellite setup`, or copied in): one line per file, with the fix.
    public static func databaseWarnings(_ config: SatelliteConfiguration) -> [String] {
        guard let path = config.sqlitePath else { return [] }
        return [path, path + "-wal", path + "-shm"].compactMap { file in
            var status = stat()
            guard stat(file, &status) == 0, status.st_mode & 0o004 != 0 else { return nil }
            let mode = String(Int(status.st_mode & 0o777), radix: 8)
            return "warning: \(file) is readable by other users (mode \(mode)); it holds every project, bucket and key hash: chmod 600 \(file)"
        }
    }

    /// Where `satellite log-level LEVEL NAME` leaves a peer's new level: beside the control
    /// socket, as an absolute path (the peers may be told it from another directory).
    public static func levelDirectory(_ config: SatelliteConfiguration) -> String {
        var path = config.controlSocketPath
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                path = (cwd == "/" ? "" : cwd) + "/" + path
            }
        }
        let components = path.split(separator: "/").filter { $0 != "." }.dropLast()
        return "/" + components.joined(separator: "/")
    }

    /// `mkdir -p`, each directory it makes given exactly `mode` (whatever the umask); nil when
    /// `path` is a directory after.
    static func makeDirectories(_ path: String, mode: mode_t) -> String? {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, mode) == 0 {
                chmod(prefix, mode)
            } else if errno != EEXIST {
                return "\(prefix): \(String(cString: strerror(errno)))"
            }
            prefix += "/"
        }
        var status = stat()
        guard stat(path, &status) == 0 else { return String(cString: strerror(errno)) }
        guard status.st_mode & S_IFMT == S_IFDIR else { return "\(path) is not a directory" }
        return nil
    }
}

import ArgumentParser
import Foundation
import Logging
import Satellite
import SatelliteConfig
import StructuredLogging
import CSupport
import Supervision
import Units

/// `satellite run` with no peer: the launcher. Maps the configuration onto the supervisor's
/// process specs and hands over to it; everything else lives in the Supervision library.
enum Launcher {
    /// Variables that belong to whoever started the launcher (systemd), not to its children.
    static let parentOnlyVariables = ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"]

    static func run(config: SatelliteConfiguration, options: ConfigOptions) async throws {
        var specs: [ProcessSpec]
        do {
            specs = try processSpecs(config: config, options: options)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(78)
        }
        let logDirectory = config.logDirectory
        do {
            try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        } catch {
            FileHandle.standardError.write(Data("run: cannot create the log directory \(logDirectory): \((error as NSError).localizedDescription)\n".utf8))
            throw ExitCode.failure
        }
        // The API's listening socket belongs to the launcher, so that clients wait rather than
        // being refused while an API process restarts.
        if let socket = try apiSocket(config: config) {
            for index in specs.indices where config.processes[index].program == .peer(.api) {
                specs[index].listenDescriptor = socket
            }
        }
        var settings = [
            "log-format": config.log.format.rawValue,
            "log-level": config.log.level.rawValue,
            "control-socket": config.controlSocketPath,
            "log-level-dir": Self.levelDirectory(config),
        ]
        if !config.supervisor.debugAddress.isEmpty { settings["metrics-address"] = config.supervisor.debugAddress }
        // Under the journal the launcher's standard error is its log; otherwise a file too.
        if !config.log.usesJournal(environment: ProcessInfo.processInfo.environment) {
            settings["log-file"] = logDirectory + "/satellite.log"
        }
        let plan = LaunchPlan(specs: specs, settings: settings)
        let launcher = besideSelf("satellite-launcher")
        let fd = cs_memfd_inheritable("satellite-launch-plan")
        guard fd >= 0 else {
            FileHandle.standardError.write(Data("run: memfd_create: \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode.failure
        }
        let bytes = plan.encoded()
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, lseek(fd, 0, SEEK_SET) == 0 else {
            FileHandle.standardError.write(Data("run: cannot write the launch plan: \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode.failure
        }
        let words: [String] = [launcher, "--plan-fd", String(fd)]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        execv(launcher, argv)
        FileHandle.standardError.write(Data("run: cannot execute \(launcher): \(String(cString: strerror(errno))) (build the satellite-launcher product beside satellite)\n".utf8))
        throw ExitCode.failure
    }

    /// The listening socket the API processes share: systemd's (socket activation) when it passed
    /// one, else one bound here at `api.address`; nil when no entry runs the API or the address
    /// is a name rather than an IP address (the API then binds it itself).
    static func apiSocket(config: SatelliteConfiguration) throws -> Int32? {
        guard config.processes.contains(where: { $0.program == .peer(.api) }) else { return nil }
        let environment = ProcessInfo.processInfo.environment
        if environment["LISTEN_PID"] == String(getpid()), let count = Int(environment["LISTEN_FDS"] ?? ""), count >= 1 {
            return 3
        }
        guard let address = HostPort(config.api.address) else { return nil }
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        let fd = cs_tcp_listen(host, Int32(address.port))
        if fd < 0, errno == EINVAL { return nil }
        guard fd >= 0 else {
            FileHandle.standardError.write(Data("run: cannot listen on api.address \(config.api.address): \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode.failure
        }
        // Kept open across the exec into the launcher.
        _ = fcntl(fd, F_SETFD, 0)
        return fd
    }

    /// One spec per entry of `processes`: peers run this executable as `satellite run PEER` with
    /// the launcher's own configuration; their output goes to `<log.dir>/<name>.log`.
    /// - Throws: ``ConfigError`` for a program that cannot be executed or a cycle in `after`.
    static func processSpecs(config: SatelliteConfiguration, options: ConfigOptions) throws -> [ProcessSpec] {
        let source: (Int?) -> ConfigSource = { line in
            guard let file = options.file, let line else { return .defaults }
            return .file(path: file, line: line)
        }
        var inherited = ProcessInfo.processInfo.environment
        for name in parentOnlyVariables { inherited.removeValue(forKey: name) }
        let configArguments = (options.file.map { ["--config", $0] } ?? []) + options.overrides
        let schema = SatelliteConfiguration.schema
        var specs: [ProcessSpec] = []
        for (index, entry) in config.processes.enumerated() {
            let timings = entry.timings(under: config.supervisor)
            var environment = inherited.merging(entry.environment) { _, own in own }
            let executable: String
            let arguments: [String]
            switch entry.program {
            case .peer(let peer):
                executable = selfExecutable()
                arguments = ["run", peer.rawValue] + configArguments
                // The peer beats at its entry's interval and keeps its shutdown within its entry's
                // stop timeout, whatever the section says.
                environment[schema.environmentVariable(for: "supervisor.heartbeat-interval")] = GoDuration.format(timings.heartbeatInterval)
                environment[schema.environmentVariable(for: "supervisor.stop-timeout")] = GoDuration.format(timings.stopTimeout)
                environment["SATELLITE_LOG_LEVEL_FILE"] = levelDirectory(config) + "/" + entry.name + ".log-level"
            case .exec(let program):
                if program.contains("/"), access(program, X_OK) != 0 {
                    throw ConfigError(
                        source: source(entry.line), key: "processes[\(index)].exec", value: program,
                        problem: .outOfRange(expected: "an executable file (\(String(cString: strerror(errno))))")
                    )
                }
                executable = program
                arguments = entry.arguments
            }
            var spec = ProcessSpec(
                name: entry.name, executable: executable, arguments: arguments, environment: environment,
                after: entry.after, oneshot: entry.oneshot, restart: entry.restart, notify: entry.notify,
                tags: entry.tags, timings: timings, logPath: config.logDirectory + "/" + entry.name + ".log"
            )
            spec.logMaxSize = config.log.maxSize
            spec.logFiles = config.log.maxFiles
            if config.log.usesJournal(environment: ProcessInfo.processInfo.environment) {
                spec.journalIdentifier = "satellite-" + entry.name
            }
            specs.append(spec)
        }
        do {
            _ = try StartOrder(specs)
        } catch {
            throw ConfigError(source: source(config.processes.first?.line), key: "processes", value: nil, problem: .conflict(error.description))
        }
        return specs
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

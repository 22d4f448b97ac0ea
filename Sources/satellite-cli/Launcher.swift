import ArgumentParser
import Foundation
import Logging
import Satellite
import SatelliteConfig
import StructuredLogging
import Supervision

/// `satellite run` with no peer: the launcher. Maps the configuration onto the supervisor's
/// process specs and hands over to it; everything else lives in the Supervision library.
enum Launcher {
    /// Variables that belong to whoever started the launcher (systemd), not to its children.
    static let parentOnlyVariables = ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"]

    static func run(config: SatelliteConfiguration, options: ConfigOptions) async throws {
        let specs: [ProcessSpec]
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
        let logPath = logDirectory + "/satellite.log"
        let logFile = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard logFile >= 0 else {
            FileHandle.standardError.write(Data("run: cannot open \(logPath): \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode.failure
        }
        let log = ProcessLogging.bootstrap(process: "launcher", config: config.log, label: "launcher", alsoTo: [LogSink(descriptor: logFile)])

        var supervisorOptions = SupervisorOptions(trampoline: SupervisorOptions.trampolineBesideExecutable(), logger: log)
        supervisorOptions.trapsSignals = true
        let outcome: SupervisorOutcome
        do {
            let supervisor = try Supervisor(specs: specs, options: supervisorOptions)
            log.info("launching", metadata: ["processes": .array(specs.map { .string($0.name) }), "log_dir": .string(logDirectory)])
            outcome = try await supervisor.run()
        } catch {
            log.critical("cannot launch", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        switch outcome {
        case .stopped:
            log.info("stopped")
        case .forced:
            log.warning("stopped by force")
            throw ExitCode.failure
        case .gaveUp(let reason):
            log.error("gave up", metadata: ["reason": .string(reason)])
            throw ExitCode.failure
        }
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
                environment[schema.environmentVariable(for: "supervisor.heartbeat-interval")] = GoDuration.format(timings.heartbeatInterval)
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
            specs.append(ProcessSpec(
                name: entry.name, executable: executable, arguments: arguments, environment: environment,
                after: entry.after, oneshot: entry.oneshot, restart: entry.restart, notify: entry.notify,
                tags: entry.tags, timings: timings, logPath: config.logDirectory + "/" + entry.name + ".log"
            ))
        }
        do {
            _ = try StartOrder(specs)
        } catch {
            throw ConfigError(source: source(config.processes.first?.line), key: "processes", value: nil, problem: .conflict(error.description))
        }
        return specs
    }

    /// This executable's path, so that a peer runs the same build as its launcher.
    static func selfExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

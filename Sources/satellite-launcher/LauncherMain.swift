import CSystemd
import Logging
import StructuredLogging
import Supervision

#if canImport(Glibc)
import Glibc
#endif

/// `satellite-launcher --plan-fd N`: the supervising half of `satellite run`.
///
/// `satellite run` reads and checks the configuration, writes a ``LaunchPlan`` to a memory file
/// and executes this program in its place (same pid, so systemd and the operator see one
/// process). This program links neither Foundation nor the satellite's libraries, which keeps
/// the process that stays up for the satellite's whole life small.
@main
struct LauncherMain {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, arguments[1] == "--plan-fd", let fd = Int32(arguments[2]) else {
            fail("usage: satellite-launcher --plan-fd N (started by `satellite run`, not by hand)", status: 64)
        }
        let plan: LaunchPlan
        do {
            plan = try LaunchPlan(decoding: readAll(fd))
        } catch {
            fail("satellite-launcher: \(error)", status: 1)
        }
        close(fd)

        var sinks = [LogSink.standardError]
        var logFile: (path: String, fd: Int32)?
        if let path = plan.settings["log-file"] {
            let file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard file >= 0 else { fail("satellite-launcher: cannot open \(path): \(String(cString: strerror(errno)))", status: 1) }
            sinks.append(LogSink(descriptor: file))
            logFile = (path, file)
        }
        let format = plan.settings["log-format"].flatMap(LogFormat.init(rawValue:)) ?? .json
        let level = LogLevelControl(plan.settings["log-level"].flatMap(Logger.Level.init(rawValue:)) ?? .info)
        let allSinks = sinks
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, process: "launcher", format: format, sinks: allSinks, level: level)
        }
        let log = Logger(label: "launcher")

        var options = SupervisorOptions(trampoline: SupervisorOptions.trampolineBesideExecutable(), logger: log)
        options.trapsSignals = true
        options.controlSocket = plan.settings["control-socket"]
        if let address = plan.settings["debug-address"], let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
            var host = String(address[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            options.debugAddress = (host, port)
        }
        options.debugReadOnly = plan.settings["debug-read-only"] == "true"
        options.version = plan.settings["version"]
        let ownLog = logFile
        options.reopenLogs = {
            // The sink keeps its descriptor number; the file behind it is the one at the path now.
            guard let ownLog else { return }
            let fresh = open(ownLog.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard fresh >= 0 else { return }
            dup2(fresh, ownLog.fd)
            _ = fcntl(ownLog.fd, F_SETFD, FD_CLOEXEC)
            close(fresh)
        }
        let levelDirectory = plan.settings["log-level-dir"]
        options.changeLogLevel = { text, process, pid in
            guard let wanted = Logger.Level(rawValue: text) else {
                return "unknown level \"\(text)\"; expected one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            }
            guard let process, let pid else {
                level.level = wanted
                return nil
            }
            // A peer reads its level from this file when it gets SIGUSR2; other programs have no file.
            guard let levelDirectory else { return "process \(process) cannot change its level" }
            if let problem = LogLevelFile(directory: levelDirectory, process: process).write(wanted) { return problem }
            kill(pid, SIGUSR2)
            return nil
        }
        // Under systemd (Type=notify): readiness, status, watchdog and stop progress.
        if getenv("NOTIFY_SOCKET") != nil {
            options.parentNotify = { message in _ = sd_notify(0, message) }
            var microseconds: UInt64 = 0
            if sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 {
                options.watchdogInterval = .microseconds(Int64(microseconds / 2))
                log.info("systemd watchdog", metadata: ["ping_every_ms": "\(microseconds / 2000)"])
            }
        }
        let outcome: SupervisorOutcome
        do {
            let supervisor = try Supervisor(specs: plan.specs, options: options)
            log.info("launching", metadata: ["processes": .array(plan.specs.map { .string($0.name) })])
            outcome = try await supervisor.run()
        } catch {
            log.critical("cannot launch", metadata: ["error": "\(error)"])
            exit(1)
        }
        switch outcome {
        case .stopped:
            log.info("stopped")
            exit(0)
        case .forced:
            log.warning("stopped by force")
            exit(1)
        case .gaveUp(let reason):
            log.error("gave up", metadata: ["reason": .string(reason)])
            exit(1)
        }
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        LogSink.standardError.write(message + "\n")
        exit(status)
    }
}

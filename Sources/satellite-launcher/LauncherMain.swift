import CSupport
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
///
/// An in-place upgrade runs it twice more: `--probe-fd N` as the running launcher's child, to
/// show that it can read the running launcher's ``Handover`` (it answers `ready VERSION`), and
/// then `--resume-fd N` in the running launcher's own process, where it takes the children over.
@main
struct LauncherMain {
    static let usage = "usage: satellite-launcher --plan-fd N | --resume-fd N | --probe-fd N | --version (started by `satellite run`, not by hand)"

    static func main() {
        let arguments = CommandLine.arguments
        let version = String(cString: cs_version())
        if arguments.count == 2, arguments[1] == "--version" {
            print(version)
            exit(0)
        }
        guard arguments.count == 3, let fd = Int32(arguments[2]), ["--plan-fd", "--resume-fd", "--probe-fd"].contains(arguments[1]) else {
            fail(usage, status: 64)
        }
        let bytes = readAll(fd)
        close(fd)
        var handover: Handover?
        let plan: LaunchPlan
        do {
            if arguments[1] == "--plan-fd" {
                plan = try LaunchPlan(decoding: bytes)
            } else {
                let state = try Handover(decoding: bytes)
                handover = state
                plan = state.plan
            }
        } catch {
            fail("satellite-launcher: \(error)", status: 1)
        }
        let trampoline = SupervisorOptions.trampolineBesideExecutable()
        if arguments[1] == "--probe-fd" {
            guard access(trampoline, X_OK) == 0 else { fail("satellite-launcher: the trampoline \(trampoline) is missing or not executable", status: 1) }
            print("ready \(version)")
            exit(0)
        }

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

        var options = SupervisorOptions(trampoline: trampoline, logger: log)
        options.trapsSignals = true
        options.version = version
        options.upgradeExecutable = ownPath()
        options.planSettings = plan.settings
        options.controlSocket = plan.settings["control-socket"]
        if let address = plan.settings["debug-address"], let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
            var host = String(address[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            options.debugAddress = (host, port)
        }
        options.debugReadOnly = plan.settings["debug-read-only"] == "true"
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
            options.parentNotify = { message in _ = cs_sd_notify(message) }
            var microseconds: UInt64 = 0
            if cs_sd_watchdog_enabled(&microseconds) > 0, microseconds > 0 {
                options.watchdogInterval = .microseconds(Int64(microseconds / 2))
                log.info("systemd watchdog", metadata: ["ping_every_ms": "\(microseconds / 2000)"])
            }
        }
        let outcome: SupervisorOutcome
        do {
            // The loop runs on this, the main thread: the only one whose children outlive an
            // exec, so the only one that can upgrade in place.
            if let handover {
                outcome = try Supervisor(resuming: handover, options: options).runOnThisThread()
            } else {
                let supervisor = try Supervisor(specs: plan.specs, options: options)
                log.info("launching", metadata: ["processes": .array(plan.specs.map { .string($0.name) })])
                outcome = try supervisor.runOnThisThread()
            }
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

    /// This program's path as it starts, so that an upgrade executes whatever file is there then
    /// (an exec of /proc/self/exe would run this one again).
    static func ownPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        var path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path
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

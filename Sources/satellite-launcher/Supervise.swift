import CSupport
import Logging
import StructuredLogging
import Supervision

#if canImport(Glibc)
import Glibc
#endif

/// The launcher proper: a ``Supervisor`` for a plan (or an upgrading launcher's ``Handover``)
/// on this process's main thread, with its log, control socket, operator page and systemd
/// notifications as the plan's settings say; it exits when the supervisor ends.
enum Supervise {
    static func plan(_ plan: LaunchPlan, version: String) -> Never {
        run(plan: plan, handover: nil, version: version)
    }

    static func handover(_ handover: Handover, version: String) -> Never {
        run(plan: handover.plan, handover: handover, version: version)
    }

    private static func run(plan: LaunchPlan, handover: Handover?, version: String) -> Never {
        var sinks = [LogSink.standardError]
        var logFile: (path: String, fd: Int32)?
        if let path = plan.settings["log-file"] {
            let file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard file >= 0 else { LauncherMain.fail("satellite: cannot open \(path): \(String(cString: strerror(errno)))", status: 1) }
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

        var options = SupervisorOptions(guardProgram: SupervisorOptions.guardProgramBesideExecutable(), logger: log)
        options.trapsSignals = true
        options.version = version
        options.upgradeExecutable = LauncherMain.ownPath()
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
}

import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What a supervisor needs besides its processes.
public struct SupervisorOptions: Sendable {
    /// `satellite-exec`, which runs as the process-group guard (``guardsProcessGroups``).
    public var guardProgram: String
    /// The descriptor number at which a notify child finds its pipe.
    public var notifyDescriptor: Int32 = 3
    /// Whether the supervisor handles SIGTERM, SIGINT and SIGHUP itself: the first SIGTERM or
    /// SIGINT stops everything in reverse order, a second kills what is left; SIGHUP reopens the
    /// log files.
    public var trapsSignals = false
    /// Whether a `satellite-exec --guard` process kills what the children started should the
    /// supervisor die without stopping them.
    public var guardsProcessGroups = true
    public var logger: Logger
    /// Called on the supervisor's thread with every event, after it is logged. Keep it short.
    public var observer: (@Sendable (SupervisorRecord) -> Void)?
    /// Tells whoever started the supervisor how it is doing, in sd_notify's vocabulary:
    /// `READY=1` with a `STATUS=` once every process is ready, `STATUS=` whenever the summary
    /// changes, `WATCHDOG=1` every ``watchdogInterval``, `STOPPING=1` when the stop begins, and
    /// `EXTEND_TIMEOUT_USEC=` as each process is asked to stop. Called on the supervisor's thread.
    public var parentNotify: (@Sendable (String) -> Void)?
    /// How often to send `WATCHDOG=1` (systemd asks for half its `WATCHDOG_USEC`). The pings come
    /// from the supervision loop itself, so a loop that is stuck stops sending them.
    public var watchdogInterval: Duration?
    /// Where the control socket listens (`status`, `restart`, `stop`, `log-level`); nil for none.
    public var controlSocket: String?
    /// Where the debug address serves the operator page, `/status` and `/metrics` over HTTP
    /// (host, port; port 0 picks one); nil for nowhere.
    public var debugAddress: (host: String, port: Int)?
    /// Whether the operator page shows only: no restart buttons, and `POST /restart` refused.
    public var debugReadOnly = false
    /// The version the operator page, `status` and an upgrade's answer show for the launcher;
    /// nil shows none.
    public var version: String?
    /// The launcher program an in-place upgrade (`upgrade` on the control socket, SIGUSR2)
    /// executes: its path when this one started, so that a file replaced there is the new
    /// program. Nil refuses upgrades; only a supervisor whose loop runs on its process's main
    /// thread (``Supervisor/runOnThisThread()``) can upgrade.
    public var upgradeExecutable: String?
    /// The launch plan's settings, which an upgrade hands on with the specs.
    public var planSettings: [String: String] = [:]
    /// Called on SIGHUP (when signals are trapped) after every child's log file was reopened, to
    /// reopen the supervisor's own.
    public var reopenLogs: (@Sendable () -> Void)?
    /// Carries out `log-level LEVEL [NAME]` (with the named process's pid, when it runs);
    /// returns why it could not, or nil.
    public var changeLogLevel: (@Sendable (_ level: String, _ process: String?, _ pid: Int32?) -> String?)?

    public init(guardProgram: String, logger: Logger) {
        self.guardProgram = guardProgram
        self.logger = logger
    }

    /// `satellite-exec` beside the running executable, where the package builds it.
    public static func guardProgramBesideExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "satellite-exec" }
        let path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/satellite-exec"
    }
}

/// One child the supervisor runs: what to execute and how to treat it. Plain data, so that a
/// configuration file, a test or another program can describe children the same way.
public struct ProcessSpec: Sendable, Equatable {
    /// Unique among the supervisor's processes; used in logs, `after` and the log file's name.
    public var name: String
    /// The program: a path, or a name looked up in `PATH`.
    public var executable: String
    /// Arguments after the program's name.
    public var arguments: [String]
    /// The whole environment of the child. The supervisor adds `SATELLITE_PROCESS` and, for a
    /// notify process, `SATELLITE_NOTIFY_FD`.
    public var environment: [String: String]
    /// Processes that must be ready before this one starts; it is stopped before them.
    public var after: [String]
    /// Runs once to completion: it must exit 0 before the processes after it start, and a
    /// failure aborts the launch.
    public var oneshot: Bool
    public var restart: RestartPolicy
    /// Whether the process speaks the notify protocol (`READY=1`, `WATCHDOG=1`); without it a
    /// process counts as ready once spawned and is never considered hung.
    public var notify: Bool
    /// Labels for selecting processes together.
    public var tags: [String]
    public var timings: SupervisionTimings
    /// The file that receives the process's standard output and error, appended to across
    /// restarts; nil hands the supervisor's own standard error to the child.
    public var logPath: String?
    /// When the log file reaches this many bytes it is renamed `NAME.log.1` (older ones shift up
    /// to ``logFiles``, the oldest is deleted) and a new one is begun; zero never rotates.
    public var logMaxSize: Int64 = 0
    /// Rotated files kept besides the current one.
    public var logFiles: Int = 5
    /// When set, the process's output goes to the systemd journal under this identifier (as
    /// `satellite-api`) instead of to ``logPath``, which stays the fallback when the journal
    /// cannot be reached.
    public var journalIdentifier: String?
    /// A descriptor of the supervisor's (a listening socket) the process inherits at descriptor 4,
    /// named to it by `SATELLITE_LISTEN_FD=4`: the socket outlives the process, so clients wait
    /// in its backlog rather than being refused while the process restarts.
    public var listenDescriptor: Int32?
    /// The entry this process is one instance of (`api` for `api@2`): `restart api` replaces its
    /// instances one at a time. Nil for a process that is its own entry.
    public var instanceOf: String?

    public init(
        name: String,
        executable: String,
        arguments: [String] = [],
        environment: [String: String] = [:],
        after: [String] = [],
        oneshot: Bool = false,
        restart: RestartPolicy = .always,
        notify: Bool = false,
        tags: [String] = [],
        timings: SupervisionTimings = SupervisionTimings(),
        logPath: String? = nil
    ) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.after = after
        self.oneshot = oneshot
        self.restart = restart
        self.notify = notify
        self.tags = tags
        self.timings = timings
        self.logPath = logPath
    }
}

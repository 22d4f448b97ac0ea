import CSupport
import SatelliteConfig
import StructuredLogging
import Supervision
import Units

#if canImport(Glibc)
import Glibc
#endif

/// What `run` with no peer starts, as the supervising launcher will run it: the entries of
/// `processes` mapped onto ``ProcessSpec``s, written into a ``LaunchPlan``, and handed to the
/// launcher (`PROGRAM --plan-fd N`), which takes this process's place.
///
/// Any kind of peer launches this way; what is particular to one kind (its peer names, the
/// socket one peer serves) comes in as values.
public struct Launch: Sendable {
    /// How a peer's process is run: `executable` with the peer's name and then `peerArguments`.
    public struct PeerCommand: Sendable {
        public var executable: String
        /// Before the peer's name, as `["run"]`.
        public var leadingArguments: [String]
        /// After the peer's name: the launcher's own configuration (`--config FILE`, flags).
        public var trailingArguments: [String]
        /// The variables through which a peer learns its entry's heartbeat interval and stop
        /// timeout (the `supervisor.*` keys' environment names).
        public var heartbeatVariable: String
        public var stopTimeoutVariable: String

        public init(executable: String, leadingArguments: [String], trailingArguments: [String], heartbeatVariable: String, stopTimeoutVariable: String) {
            self.executable = executable
            self.leadingArguments = leadingArguments
            self.trailingArguments = trailingArguments
            self.heartbeatVariable = heartbeatVariable
            self.stopTimeoutVariable = stopTimeoutVariable
        }
    }

    /// Where and how the processes' output is kept.
    public struct Logs: Sendable {
        /// `<directory>/<name>.log` for each process.
        public var directory: String
        public var maxSize: Int64
        public var maxFiles: Int
        /// The journal instead of files, each process as `<journalPrefix><name>`.
        public var journal: Bool
        public var journalPrefix: String

        public init(directory: String, maxSize: Int64, maxFiles: Int, journal: Bool, journalPrefix: String) {
            self.directory = directory
            self.maxSize = maxSize
            self.maxFiles = maxFiles
            self.journal = journal
            self.journalPrefix = journalPrefix
        }
    }

    /// Variables that belong to whoever started the launcher (systemd), not to its children.
    public static let parentOnlyVariables = ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"]

    public var processes: [ProcessEntry]
    public var supervisor: SupervisorConfig
    public var peer: PeerCommand
    public var logs: Logs
    /// Where each peer's ``LogLevelFile`` lives: beside the control socket.
    public var levelDirectory: String
    /// The configuration file the entries came from, for errors that name their line.
    public var configFile: String?

    public init(processes: [ProcessEntry], supervisor: SupervisorConfig, peer: PeerCommand, logs: Logs, levelDirectory: String, configFile: String?) {
        self.processes = processes
        self.supervisor = supervisor
        self.peer = peer
        self.logs = logs
        self.levelDirectory = levelDirectory
        self.configFile = configFile
    }

    /// One spec per entry of `processes`, each with `environment` (less the parent's own
    /// variables) under the entry's own; a peer's output goes to `<logs.directory>/<name>.log`.
    /// - Throws: ``ConfigError`` for a program that cannot be executed or a cycle in `after`.
    public func specs(environment: [String: String]) throws -> [ProcessSpec] {
        let source: (Int?) -> ConfigSource = { line in
            guard let file = configFile, let line else { return .defaults }
            return .file(path: file, line: line)
        }
        var inherited = environment
        for name in Self.parentOnlyVariables { inherited.removeValue(forKey: name) }
        // A dependency on an entry with instances is one on each of them.
        let instanceNames = Dictionary(processes.map { ($0.name, Self.instanceNames(of: $0)) }, uniquingKeysWith: { first, _ in first })
        var specs: [ProcessSpec] = []
        for (index, entry) in processes.enumerated() {
            for name in Self.instanceNames(of: entry) {
                let timings = entry.timings(under: supervisor)
                var environment = inherited.merging(entry.environment) { _, own in own }
                let executable: String
                let arguments: [String]
                switch entry.program {
                case .peer(let peerName):
                    executable = peer.executable
                    arguments = peer.leadingArguments + [peerName] + peer.trailingArguments
                    // The peer beats at its entry's interval and keeps its shutdown within its entry's
                    // stop timeout, whatever the section says.
                    environment[peer.heartbeatVariable] = GoDuration.format(timings.heartbeatInterval)
                    environment[peer.stopTimeoutVariable] = GoDuration.format(timings.stopTimeout)
                    environment[LogLevelFile.environmentVariable] = LogLevelFile(directory: levelDirectory, process: name).path
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
                    name: name, executable: executable, arguments: arguments, environment: environment,
                    after: entry.after.flatMap { instanceNames[$0] ?? [$0] }, oneshot: entry.oneshot, restart: entry.restart, notify: entry.notify,
                    tags: entry.tags, timings: timings, logPath: logs.directory + "/" + name + ".log"
                )
                spec.logMaxSize = logs.maxSize
                spec.logFiles = logs.maxFiles
                if logs.journal { spec.journalIdentifier = logs.journalPrefix + name }
                if entry.instances > 1 { spec.instanceOf = entry.name }
                specs.append(spec)
            }
        }
        do {
            _ = try StartOrder(specs)
        } catch {
            throw ConfigError(source: source(processes.first?.line), key: "processes", value: nil, problem: .conflict(error.description))
        }
        return specs
    }

    /// `NAME` for one instance; `NAME@1` ... `NAME@N` for more (`@` is not allowed in an entry's
    /// name, so no instance can take another entry's).
    public static func instanceNames(of entry: ProcessEntry) -> [String] {
        entry.instances == 1 ? [entry.name] : (1...entry.instances).map { "\(entry.name)@\($0)" }
    }

    /// One listening TCP socket per instance of a peer serving `host:port`, kept open across the
    /// exec into the launcher: one socket for one instance (``listeningSocket(host:port:environment:)``);
    /// for more, one each, sharing the address by SO_REUSEPORT, so that no two processes ever
    /// accept from one socket and an instance being replaced leaves its clients waiting in its
    /// own backlog. Under socket activation every instance shares systemd's socket. Empty when
    /// `host` is a name rather than an IP address.
    /// - Throws: ``LaunchError`` naming the address when it cannot be bound.
    public static func listeningSockets(host: String, port: Int, count: Int, environment: [String: String]) throws(LaunchError) -> [Int32] {
        guard count > 1, environment["LISTEN_PID"] != String(getpid()) else {
            return try listeningSocket(host: host, port: port, environment: environment).map { Array(repeating: $0, count: count) } ?? []
        }
        let address = host == "localhost" ? "127.0.0.1" : host
        var sockets: [Int32] = []
        var bound = port
        for _ in 0..<count {
            let fd = whileAddressInUse { cs_tcp_listen_shared(address, Int32(bound), 1) }
            if fd < 0, errno == EINVAL, sockets.isEmpty { return [] }
            guard fd >= 0 else {
                let reason = listenFailure()
                for socket in sockets { close(socket) }
                throw LaunchError("cannot listen on \(host):\(bound) (one socket per instance, SO_REUSEPORT): \(reason)")
            }
            if bound == 0 { bound = Int(cs_local_port(fd)) }
            _ = fcntl(fd, F_SETFD, 0)
            sockets.append(fd)
        }
        return sockets
    }

    /// A listening TCP socket for `host:port` that every process of a peer can serve, kept open
    /// across the exec into the launcher: systemd's (socket activation) when it passed one, else
    /// one bound here. Nil when `host` is a name rather than an IP address (the peer then binds
    /// it itself).
    /// - Throws: ``LaunchError`` naming the address when it cannot be bound.
    public static func listeningSocket(host: String, port: Int, environment: [String: String]) throws(LaunchError) -> Int32? {
        if environment["LISTEN_PID"] == String(getpid()), let count = Int(environment["LISTEN_FDS"] ?? ""), count >= 1 {
            return 3
        }
        let fd = whileAddressInUse { cs_tcp_listen(host == "localhost" ? "127.0.0.1" : host, Int32(port)) }
        if fd < 0, errno == EINVAL { return nil }
        guard fd >= 0 else { throw LaunchError("cannot listen on \(host):\(port): \(listenFailure())") }
        _ = fcntl(fd, F_SETFD, 0)
        return fd
    }

    /// How long a bind waits for an address in use to come free.
    static let addressInUseWait: Duration = .seconds(5)

    /// `listen` again while it fails with EADDRINUSE, for up to ``addressInUseWait``: a launcher
    /// started again at once after its predecessor was killed meets the predecessor's API
    /// processes still exiting (they die by their parent-death signal, but a loaded machine
    /// takes its time to end them), and would otherwise refuse to start. Returns the last
    /// result, with its errno.
    static func whileAddressInUse(_ listen: () -> Int32) -> Int32 {
        let deadline = ContinuousClock.now + addressInUseWait
        while true {
            let fd = listen()
            guard fd < 0, errno == EADDRINUSE, ContinuousClock.now < deadline else { return fd }
            usleep(20_000)
        }
    }

    /// Why the last `listen` failed, from errno; an address in use says how long it was waited for.
    static func listenFailure() -> String {
        let inUse = errno == EADDRINUSE
        return String(cString: strerror(errno)) + (inUse ? " (still, after \(addressInUseWait))" : "")
    }

    /// Writes `plan` into an inheritable memfd and executes `launcher --plan-fd N` in this
    /// process's place, so the pid systemd and the operator see stays the same.
    /// - Throws: ``LaunchError`` when the plan cannot be written or the launcher executed; on
    ///   success it does not return.
    public static func handOver(_ plan: LaunchPlan, to launcher: String) throws(LaunchError) -> Never {
        let fd = cs_memfd_inheritable("satellite-launch-plan")
        guard fd >= 0 else { throw LaunchError("memfd_create: \(String(cString: strerror(errno)))") }
        let bytes = plan.encoded()
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, lseek(fd, 0, SEEK_SET) == 0 else {
            throw LaunchError("cannot write the launch plan: \(String(cString: strerror(errno)))")
        }
        let words: [String] = [launcher, "--plan-fd", String(fd)]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        execv(launcher, argv)
        throw LaunchError("cannot execute \(launcher): \(String(cString: strerror(errno))) (the launcher is installed beside this program)")
    }
}

/// A launch that could not be handed over; nothing was started.
public struct LaunchError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

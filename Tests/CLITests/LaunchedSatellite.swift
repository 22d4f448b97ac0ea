import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `satellite run` started as an operator starts it, in a directory of its own, and always
/// cleaned up: the launcher and every process it logged as spawned are killed at the end.
final class LaunchedSatellite {
    let directory: URL
    private let ownsDirectory: Bool
    let process = Process()
    var pid: Int32 { process.processIdentifier }
    /// The satellite's data directory: `directory/data`, or where the config file puts it.
    let dataDir: String
    var logDir: String { dataDir + "/log" }

    /// Starts the launcher with `config` as its file (if given), `flags` and `environment`.
    convenience init(config: String? = nil, flags: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(directory: try temporaryDirectory(), config: config, flags: flags, environment: environment)
    }

    /// Starts the launcher on `directory/data`; the directory is removed when this is released.
    convenience init(in directory: URL, config: String? = nil, flags: [String]) throws {
        try self.init(directory: directory, config: config, flags: flags, environment: [:])
    }

    /// Launches again on the data directory `dataDir` of an earlier launch (which keeps it).
    convenience init(reusing dataDir: String, flags: [String] = []) throws {
        let directory = URL(fileURLWithPath: dataDir).deletingLastPathComponent()
        try self.init(directory: directory, config: nil, flags: flags, environment: [:], ownsDirectory: false)
    }

    /// Launches the `satellite` at `executable` (with `satellite-cli` and `satellite-exec` beside it), in a
    /// directory of its own.
    convenience init(executable: URL, config: String? = nil, flags: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(directory: try temporaryDirectory(), config: config, flags: flags, environment: environment, program: executable)
    }

    /// Launches `satellite run --config CONFIG` as it is, its data wherever the file says, in
    /// `directory`, which is removed when this is released.
    convenience init(configFile: String, dataDir: String, in directory: URL) throws {
        try self.init(directory: directory, config: nil, flags: [], environment: [:], arguments: ["run", "--config", configFile], dataDir: dataDir)
    }

    /// `satellite run --config configFile` on another host (a network namespace of `hosts`); the
    /// directory is the caller's.
    convenience init(configFile: String, dataDir: String, in directory: URL, on hosts: TestHosts, host: Int) throws {
        try self.init(
            directory: directory, config: nil, flags: [], environment: [:], ownsDirectory: false, arguments: ["run", "--config", configFile], dataDir: dataDir,
            wrapper: hosts.command(host, [SatelliteProcess.executable.path])
        )
    }

    private init(
        directory: URL, config: String?, flags: [String], environment: [String: String], ownsDirectory: Bool = true, arguments given: [String]? = nil,
        dataDir: String? = nil, wrapper: [String]? = nil, program: URL = SatelliteProcess.executable
    ) throws {
        _ = Self.sweptLeftovers
        self.directory = directory
        self.dataDir = dataDir ?? directory.appendingPathComponent("data").path
        self.ownsDirectory = ownsDirectory
        // Vetting off: no audit ever reaches the nodes these tests check in, and with Storj's
        // 100 audits none of them would be offered. A network's own file says so itself.
        var arguments = given ?? ["run", "--data-dir", self.dataDir, "--overlay.vetting-audits=0"]
        if let config {
            let path = directory.appendingPathComponent("satellite.yaml")
            try config.write(to: path, atomically: true, encoding: .utf8)
            arguments += ["--config", path.path]
        }
        process.executableURL = wrapper == nil ? program : URL(fileURLWithPath: "/usr/sbin/ip")
        process.currentDirectoryURL = directory
        process.arguments = (wrapper ?? []) + arguments + flags
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        // Kept for a failure's message: what a launcher says before its log is open (or when
        // it cannot open it) goes here.
        let errors = directory.appendingPathComponent("launcher.stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let handle = try FileHandle(forWritingTo: errors)
        handle.seekToEndOfFile()
        process.standardError = handle
        try process.run()
        try handle.close()
    }

    /// What the launchers in this directory wrote to standard error.
    var standardErrorText: String {
        String(decoding: FileManager.default.contents(atPath: directory.appendingPathComponent("launcher.stderr").path) ?? Data(), as: UTF8.self)
    }

    /// Launchers a test run that crashed or was killed left behind (their parent is gone, so
    /// no teardown ran), killed once per run before the first launch; each one's guard then
    /// takes its children. Only launchers on a data directory of these tests are touched.
    static let sweptLeftovers: Int = {
        var swept = 0
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("satellite-cli-").path
        for process in ProcessIdentity.all() where process.parent == 1 && !process.isZombie {
            guard let command = FileManager.default.contents(atPath: "/proc/\(process.pid)/cmdline"),
                ["/satellite", "satellite"].contains(where: String(decoding: command.split(separator: 0).first ?? [], as: UTF8.self).hasSuffix),
                let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process.pid)/cwd"), cwd.hasPrefix(temporary)
            else { continue }
            process.signal(SIGKILL)
            swept += 1
        }
        return swept
    }()

    deinit {
        killAll()
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Kills the launcher, if it still runs, and every process under it, and waits for the
    /// launcher to end. Only processes that are its descendants now are touched: the pids in the
    /// log name processes of other launches on the same data too, and, once pids come round
    /// again, anybody's (a launcher already gone took its children with it, by their parent-death
    /// signal and its group guard).
    func killAll() {
        if process.isRunning {
            let family = descendants(of: pid)
            kill(pid, SIGKILL)
            for member in family { member.signal(SIGKILL) }
        }
        process.waitUntilExit()
    }

    func logText(_ name: String = "satellite") -> String {
        String(decoding: FileManager.default.contents(atPath: logDir + "/\(name).log") ?? Data(), as: UTF8.self)
    }

    private var parsed: [[String: Any]] = []
    private var parsedBytes = 0

    /// The launcher's log lines as JSON objects; each poll parses only the lines added since the
    /// last, so waiting on a long log stays cheap.
    var records: [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: logDir + "/satellite.log"), data.count > parsedBytes else { return parsed }
        let fresh = data[data.startIndex.advanced(by: parsedBytes)...]
        guard let lastNewline = fresh.lastIndex(of: UInt8(ascii: "\n")) else { return parsed }
        for line in fresh[..<lastNewline].split(separator: UInt8(ascii: "\n")) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] { parsed.append(object) }
        }
        parsedBytes = lastNewline - data.startIndex + 1
        return parsed
    }

    /// `(process, msg)` of every launcher event so far.
    var events: [(process: String, msg: String)] {
        records.filter { $0["logger"] as? String == "launcher" }.map { ($0["process"] as? String ?? "", $0["msg"] as? String ?? "") }
    }

    func count(_ msg: String, of process: String? = nil) -> Int {
        events.filter { $0.msg == msg && (process == nil || $0.process == process) }.count
    }

    /// Polls the launcher's log until `condition` holds; fails after `timeout` seconds.
    /// Sleeps with `Task.sleep`, not `usleep`: a blocked thread of the shared pool would stall
    /// every other test's tasks.
    func until(_ what: String, timeout: Double = 40, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(what); launcher log:\n\(logText())", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    /// Waits for the launcher to exit; returns its status.
    func exitStatus(timeout: Double = 40) async throws -> Int32 {
        try await until("the launcher to exit", timeout: timeout) { !process.isRunning }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func pids(of name: String) -> [Int32] {
        records.filter { $0["msg"] as? String == "spawned" && $0["process"] as? String == name }.compactMap { ($0["pid"] as? String).flatMap(Int32.init) }
    }
}

/// A loopback TCP port that was free a moment ago.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether `pid` is gone or a zombie nobody of ours will reap.
func processIsGone(_ pid: Int32) -> Bool {
    ProcessIdentity(pid: pid)?.isZombie ?? true
}

/// Zombie children of `parent`.
func zombies(of parent: Int32) -> [Int32] {
    ProcessIdentity.all().filter { $0.isZombie && $0.parent == parent }.map(\.pid)
}

/// Open descriptors of `pid`, without the pidfd of a child that happens to be running (nor one
/// closed between the listing and the look).
func openDescriptors(of pid: Int32) -> Int {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
        .filter { $0 != "anon_inode:[pidfd]" }.count
}

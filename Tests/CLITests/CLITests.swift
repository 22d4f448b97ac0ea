import Foundation
import Identity
import Synchronization
import Testing

/// Runs the built `satellite` executable and collects what it prints.
extension Process {
    /// Waits for the process to end without holding a thread of the shared pool (a blocked
    /// thread stalls every other test's tasks); SIGKILLs it and records an issue after `timeout`.
    func exited(within timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation) async {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        if isRunning {
            Issue.record("\(executableURL?.lastPathComponent ?? "a process") did not end within \(timeout)", sourceLocation: sourceLocation)
            kill(processIdentifier, SIGKILL)
        }
        waitUntilExit()
    }
}

struct SatelliteProcess {
    static var executable: URL {
        // The test bundle sits in the build products directory beside the executable.
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("satellite").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("satellite")
    }

    let status: Int32
    let stdout: String
    let stderr: String

    /// Runs `satellite` (or `program`) with `arguments`, in `directory`, with `environment` added to
    /// a clean one; gives up (and fails) after 30 seconds. Its output is read while it runs, so a child that
    /// prints more than a pipe holds is not stalled, and by threads of their own, so no thread of
    /// the shared pool waits on a pipe.
    static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], program: URL = executable, timeout: Int = 30,
        input: URL? = nil
    ) async throws -> Self {
        let process = Process()
        if let input { process.standardInput = try FileHandle(forReadingFrom: input) }
        process.executableURL = program
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = PipeDrain(out), stderr = PipeDrain(err)
        let deadline = ContinuousClock.now + .seconds(timeout)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("\(program.lastPathComponent) \(arguments) did not finish within \(timeout) s")
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return Self(
            status: process.terminationStatus,
            stdout: String(decoding: await stdout.data(within: .seconds(5)), as: UTF8.self),
            stderr: String(decoding: await stderr.data(within: .seconds(5)), as: UTF8.self)
        )
    }
}

/// Reads a pipe to its end on a thread of its own.
final class PipeDrain: Sendable {
    private let collected = Mutex<(data: Data, ended: Bool)>((Data(), false))

    /// Starts reading `pipe`, which a `Process` has been run with (its `run()` closed the test's
    /// copy of the write end, so the end comes when the child's copies close).
    init(_ pipe: Pipe) {
        let reading = pipe.fileHandleForReading
        let thread = Thread { [self] in
            while let chunk = try? reading.read(upToCount: 65536), !chunk.isEmpty {
                collected.withLock { $0.data.append(chunk) }
            }
            collected.withLock { $0.ended = true }
        }
        thread.start()
    }

    /// What was read once the pipe ended, or what was read by then if it did not end within
    /// `limit` (another child spawned meanwhile may hold a copy of its write end).
    func data(within limit: Duration) async -> Data {
        let deadline = ContinuousClock.now + limit
        while !collected.withLock({ $0.ended }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return collected.withLock { $0.data }
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("satellite-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite(.timeLimit(.minutes(1)))
struct CLITests {
    @Test func typoInConfigFileIsOneLineNamingFileLineKeyAndNearestAndExits78() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("satellite.yaml")
        try "data-dir: \(directory.path)\napi:\n  adress: 127.0.0.1:1\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try await SatelliteProcess.run(["config", "--config", file.path])
        #expect(result.status == 78)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "config error: \(file.path):3: unknown key \"api.adress\"; did you mean \"api.address\"?\n")
    }

    @Test func configErrorFromEnvironmentOrFlagExits78BeforeTouchingData() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        let fromEnvironment = try await SatelliteProcess.run(
            ["setup", "--data-dir=\(dataDir)"], environment: ["SATELLITE_LOG_LEVEL": "loud"]
        )
        #expect(fromEnvironment.status == 78)
        #expect(fromEnvironment.stderr.contains("environment variable SATELLITE_LOG_LEVEL"))
        let fromFlag = try await SatelliteProcess.run(["setup", "--data-dir=\(dataDir)", "--api.address=nowhere"])
        #expect(fromFlag.status == 78)
        #expect(fromFlag.stderr.contains("flag --api.address: invalid value \"nowhere\" for \"api.address\""))
        #expect(!FileManager.default.fileExists(atPath: dataDir))
    }

    @Test func aDatabaseURLWithAPasswordExits78NamingTheKeyAndNeverShowsThePassword() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        let inline = try await SatelliteProcess.run(["run", "migration", "--data-dir=\(dataDir)", "--database.url=postgres://satellite:hunter2@db.example:5432/satellite"])
        #expect(inline.status == 78)
        #expect(inline.stderr.contains("flag --database.url: invalid value \"postgres://satellite:***@db.example:5432/satellite\" for \"database.url\""), "\(inline.stderr)")
        #expect(inline.stderr.contains("database.password-file or PGPASSWORD"))
        #expect(!inline.stderr.contains("hunter2") && !inline.stdout.contains("hunter2"))
        let fromFile = directory.appendingPathComponent("satellite.yaml")
        try "database:\n  url: mysql://root@localhost/satellite\n".write(to: fromFile, atomically: true, encoding: .utf8)
        let badScheme = try await SatelliteProcess.run(["run", "migration", "--data-dir=\(dataDir)", "--config", fromFile.path])
        #expect(badScheme.status == 78)
        #expect(badScheme.stderr.contains("\(fromFile.path):2: invalid value \"mysql://root@localhost/satellite\" for \"database.url\""), "\(badScheme.stderr)")
        #expect(badScheme.stderr.contains("unknown scheme \"mysql\""))
        #expect(!FileManager.default.fileExists(atPath: dataDir), "nothing is made before the configuration is whole")
    }

    @Test func anSQLiteURLNamesTheFileEveryPeerOpens() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("elsewhere.db").path
        let migrated = try await SatelliteProcess.run(["run", "migration", "--data-dir", directory.appendingPathComponent("data").path, "--database.url=sqlite://" + file])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stderr.contains(file))
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/satellite.db").path))
    }

    @Test func aVariableThatOnlyStartsWithThePrefixIsOneWarningButABadValueOfAKeyStillExits78() async throws {
        let wrapper = try await SatelliteProcess.run(["config"], environment: ["SATELLITE_BIN": "/usr/local/bin/satellite"])
        #expect(wrapper.status == 0)
        #expect(wrapper.stdout.contains("api:\n  address: 127.0.0.1:7777\n"))
        let lines = wrapper.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("config warning: environment variable SATELLITE_BIN names no configuration key; ignored") == true)
        let typo = try await SatelliteProcess.run(["config"], environment: ["SATELLITE_API_ADRESS": "127.0.0.1:1"])
        #expect(typo.status == 0)
        #expect(typo.stderr.contains("did you mean SATELLITE_API_ADDRESS?"))
        let bad = try await SatelliteProcess.run(["config"], environment: ["SATELLITE_API_ADDRESS": "nonsense"])
        #expect(bad.status == 78)
        #expect(bad.stderr.contains("environment variable SATELLITE_API_ADDRESS"))
        // The launcher's own variables for its children are never configuration, nor warned of.
        let child = try await SatelliteProcess.run(["config"], environment: ["SATELLITE_NOTIFY_FD": "3", "SATELLITE_PROCESS": "api", "SATELLITE_LISTEN_FD": "4", "SATELLITE_LOG_LEVEL_FILE": "/tmp/x"])
        #expect(child.status == 0)
        #expect(child.stderr.isEmpty)
    }

    @Test func setupUnderAnOpenUmaskLeavesNothingOfTheDataDirectoryReadableByOthers() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        let umask022 = #"umask 022 && exec "$0" "$@""#
        let shell = URL(fileURLWithPath: "/bin/sh")
        let setup = try await SatelliteProcess.run(["-c", umask022, SatelliteProcess.executable.path, "setup", "--data-dir=\(dataDir)"], program: shell)
        #expect(setup.status == 0, "\(setup.stderr)")
        func mode(_ path: String) throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        #expect(try mode(dataDir) == 0o700)
        #expect(try mode(dataDir + "/satellite.db") == 0o600)
        #expect(try mode(dataDir + "/satellite.yaml") == 0o640)
        #expect(try mode(dataDir + "/identity.key") == 0o600)
        // A peer under the same umask writes through the WAL; while it holds the database open,
        // its -wal and -shm exist, with the database's mode.
        let holder = Process()
        holder.executableURL = shell
        holder.arguments = ["-c", umask022, SatelliteProcess.executable.path, "run", "api", "--config", dataDir + "/satellite.yaml", "--api.address=127.0.0.1:0"]
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer {
            holder.terminate()
            holder.waitUntilExit()
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: dataDir + "/satellite.db-shm"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(FileManager.default.fileExists(atPath: dataDir + "/satellite.db-wal"))
        let everything = try FileManager.default.subpathsOfDirectory(atPath: dataDir)
        for path in everything {
            #expect(try mode(dataDir + "/" + path) & 0o007 == 0, "\(path) is open to others")
        }
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: dataDir + "/satellite.db" + suffix) {
            #expect(try mode(dataDir + "/satellite.db" + suffix) == 0o600)
        }
    }

    @Test func aPeerWarnsOnceWhenOthersCanReadTheDatabase() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        #expect(try await SatelliteProcess.run(["setup", "--data-dir=\(dataDir)"]).status == 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dataDir + "/satellite.db")
        let migration = try await SatelliteProcess.run(["run", "migration", "--config", dataDir + "/satellite.yaml"])
        #expect(migration.status == 0)
        let warnings = migration.stderr.split(separator: "\n").filter { $0.contains("is readable by other users") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("chmod 600 \(dataDir)/satellite.db") == true)
    }

    @Test func defaultsFileInTheRepositoryMatchesTheCommand() async throws {
        let result = try await SatelliteProcess.run(["config", "--defaults"])
        #expect(result.status == 0)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: repository.appendingPathComponent("config/satellite.yaml"), encoding: .utf8)
        #expect(committed == result.stdout, "config/satellite.yaml drifted: regenerate it with `satellite config --defaults > config/satellite.yaml`")
    }

    @Test func effectiveConfigShowsEveryLayer() async throws {
        let result = try await SatelliteProcess.run(
            ["config", "--log.format=text"], environment: ["SATELLITE_API_ADDRESS": "127.0.0.1:9999"]
        )
        #expect(result.status == 0)
        #expect(result.stdout.contains("  format: text\n"))
        #expect(result.stdout.contains("api:\n  address: 127.0.0.1:9999\n"))
    }

    @Test func setupCreatesDataDirectoryAndConfigAndRefusesToOverwrite() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data")
        let first = try await SatelliteProcess.run(["setup", "--data-dir", dataDir.path])
        #expect(first.status == 0)
        let configPath = dataDir.appendingPathComponent("satellite.yaml")
        let written = try String(contentsOf: configPath, encoding: .utf8)
        #expect(written.contains("data-dir: \(dataDir.path)\n"))
        #expect(FileManager.default.fileExists(atPath: dataDir.appendingPathComponent("log").path))
        #expect(FileManager.default.fileExists(atPath: dataDir.appendingPathComponent("satellite.db").path))
        // The satellite's identity, whose id setup prints for the storage nodes to trust.
        let identity = try IdentityFile.load(from: dataDir.appendingPathComponent("identity.key").path)
        #expect(first.stdout.contains("satellite id: \(identity.id.hex)"), "\(first.stdout)")
        let key = try Data(contentsOf: dataDir.appendingPathComponent("identity.key"))

        try (written + "# operator's note\n").write(to: configPath, atomically: true, encoding: .utf8)
        let second = try await SatelliteProcess.run(["setup", "--data-dir", dataDir.path])
        #expect(second.status == 1)
        #expect(second.stderr.contains("already exists"))
        #expect(try String(contentsOf: configPath, encoding: .utf8).hasSuffix("# operator's note\n"))
        #expect(try Data(contentsOf: dataDir.appendingPathComponent("identity.key")) == key)

        let loaded = try await SatelliteProcess.run(["config", "--config", configPath.path])
        #expect(loaded.status == 0)
        #expect(loaded.stdout.contains("data-dir: \(dataDir.path)\n"))
    }

    @Test func migrationPeerAppliesTheSchemaOnceAndExits0() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        let first = try await SatelliteProcess.run(["run", "migration", "--data-dir", dataDir])
        #expect(first.status == 0)
        let line = try #require(first.stderr.split(separator: "\n").first { $0.contains("schema migrated") })
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["process"] as? String == "migration")
        #expect(object["logger"] as? String == "migration")
        #expect((object["applied"] as? [String])?.isEmpty == false)

        let again = try await SatelliteProcess.run(["run", "migration", "--data-dir", dataDir])
        #expect(again.status == 0)
        #expect(again.stderr.contains("schema already up to date"))
    }

    @Test func migrationPeerOnAnUnusableDatabaseExits1NamingIt() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bogus = directory.appendingPathComponent("not-a.db")
        try "this is not a database".write(to: bogus, atomically: true, encoding: .utf8)
        let result = try await SatelliteProcess.run(["run", "migration", "--data-dir", directory.path, "--database.url=sqlite://" + bogus.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("migration failed"))
        #expect(result.stderr.contains(bogus.path))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func peerStopsGracefullyOnASignalAndExits0(signal: Int32) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        #expect(try await SatelliteProcess.run(["run", "migration", "--data-dir", dataDir]).status == 0)

        let logPath = directory.appendingPathComponent("core.log")
        #expect(FileManager.default.createFile(atPath: logPath.path, contents: nil))
        let log = try FileHandle(forWritingTo: logPath)
        let process = Process()
        process.executableURL = SatelliteProcess.executable
        process.arguments = ["run", "core", "--data-dir", dataDir, "--debug.address=127.0.0.1:0"]
        process.standardError = log
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

        func logText() -> String { (try? String(contentsOf: logPath, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(20)
        while !logText().contains("Server started"), process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(logText().contains(#""msg":"running""#))
        kill(process.processIdentifier, signal)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!process.isRunning, "core did not stop within 20 s of the signal")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(logText().contains(#""msg":"stopping""#))
        #expect(logText().contains(#""msg":"stopped""#))
    }

    @Test func peerUnderSystemdSendsReadyThenStoppingToNotifySocket() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        #expect(try await SatelliteProcess.run(["run", "migration", "--data-dir", dataDir]).status == 0)

        let socketPath = directory.appendingPathComponent("notify").path
        let socket = try NotifySocket(path: socketPath)
        defer { socket.close() }
        let process = Process()
        process.executableURL = SatelliteProcess.executable
        process.arguments = ["run", "repairer", "--data-dir", dataDir]
        process.environment = ["NOTIFY_SOCKET": socketPath]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

        let ready = await socket.receive(timeoutSeconds: 20)
        #expect(ready?.contains("READY=1") == true)
        #expect(ready?.contains("STATUS=repairer running") == true)
        #expect(ready?.contains("VERSION=0.1.0-dev") == true)
        kill(process.processIdentifier, SIGTERM)
        // Heartbeats sent before the signal arrived may come first.
        var stopping = await socket.receive(timeoutSeconds: 20)
        while stopping == "WATCHDOG=1" { stopping = await socket.receive(timeoutSeconds: 20) }
        #expect(stopping == "STOPPING=1")
        await process.exited()
        #expect(process.terminationStatus == 0)
    }

    @Test func peerRefusesAnUnmigratedDatabaseAndExits1() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let withoutKey = try await SatelliteProcess.run(["run", "api", "--data-dir", directory.path])
        #expect(withoutKey.status == 78, "the API signs with the satellite's key: \(withoutKey.stderr)")
        #expect(withoutKey.stderr.contains("identity.key: does not exist"))
        try IdentityFile.create(at: directory.appendingPathComponent("identity.key").path)
        let result = try await SatelliteProcess.run(["run", "api", "--data-dir", directory.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("satellite run migration"))
    }

    /// A satellite run without `setup` gets its key from its first migration; once its database
    /// has signed orders, a missing key is an error to fix, never a new key in silence.
    @Test func theFirstMigrationMakesTheKeyAndALostKeyIsNeverReplaced() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("identity.key").path
        let first = try await SatelliteProcess.run(["run", "migration", "--data-dir", directory.path])
        #expect(first.status == 0, "\(first.stderr)")
        let identity = try IdentityFile.load(from: key)
        #expect(try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int == 0o600)
        #expect(first.stderr.contains(identity.id.hex))
        let again = try await SatelliteProcess.run(["run", "migration", "--data-dir", directory.path])
        #expect(again.status == 0)
        #expect(try IdentityFile.load(from: key).id == identity.id, "the key is kept")
        try FileManager.default.removeItem(atPath: key)
        let lost = try await SatelliteProcess.run(["run", "migration", "--data-dir", directory.path])
        #expect(lost.status == 78, "\(lost.stderr)")
        #expect(lost.stderr.contains("restore the key"))
        #expect(!FileManager.default.fileExists(atPath: key))
    }

    @Test func adminCreatesProjectsAndShowsAKeyOnce() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDir = directory.appendingPathComponent("data").path
        let unmigrated = try await SatelliteProcess.run(["admin", "create-project", "demo", "--data-dir", dataDir])
        #expect(unmigrated.status == 1)
        #expect(unmigrated.stderr.contains("satellite run migration"))
        #expect(try await SatelliteProcess.run(["run", "migration", "--data-dir", dataDir]).status == 0)

        let project = try await SatelliteProcess.run(["admin", "create-project", "demo", "--data-dir", dataDir])
        #expect(project.status == 0, "\(project.stderr)")
        let twice = try await SatelliteProcess.run(["admin", "create-project", "demo", "--data-dir", dataDir])
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("exists already"))
        let badName = try await SatelliteProcess.run(["admin", "create-project", "no spaces", "--data-dir", dataDir])
        #expect(badName.status == 1)

        let key = try await SatelliteProcess.run(["admin", "create-api-key", "demo", "--data-dir", dataDir])
        #expect(key.status == 0)
        let printed = key.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(printed.count == 64 && printed.allSatisfy(\.isHexDigit))
        #expect(key.stderr.contains("cannot be shown again"))
        let database = try String(contentsOfFile: dataDir + "/satellite.db", encoding: .isoLatin1)
        #expect(!database.contains(printed), "the key itself must not be stored")
        let unknown = try await SatelliteProcess.run(["admin", "create-api-key", "nobody", "--data-dir", dataDir])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no project is named \"nobody\""))
    }

    @Test func usageErrorsExit64AndHelpListsEverySubcommand() async throws {
        let help = try await SatelliteProcess.run(["--help"])
        #expect(help.status == 0)
        for subcommand in ["run", "setup", "config", "admin"] {
            #expect(help.stdout.contains("  \(subcommand) "))
        }
        let badPeer = try await SatelliteProcess.run(["run", "moon"])
        #expect(badPeer.status == 64)
        let strayArgument = try await SatelliteProcess.run(["run", "--log.format=text", "migration"])
        #expect(strayArgument.status == 64)
        #expect(strayArgument.stderr.contains("unexpected argument \"migration\""))
        let version = try await SatelliteProcess.run(["--version"])
        #expect(version.status == 0)
        #expect(!version.stdout.isEmpty)
    }
}

/// A datagram socket that stands in for systemd's NOTIFY_SOCKET.
final class NotifySocket {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            path.utf8CString.withUnsafeBytes { buffer.copyBytes(from: $0.prefix(buffer.count - 1)) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    /// One datagram, or nil if none arrives within the timeout. Polls without blocking a thread
    /// of the shared pool.
    func receive(timeoutSeconds: Int) async -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(Double(timeoutSeconds))
        while poll(&poller, 1, 0) != 1 {
            guard Date() < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}

import Crypto
import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Identity
import NodeProtocol
import SatelliteDB
import SatelliteDBSQLite
import Testing

/// `satellite network setup` and `satellite run` on what it wrote, as a newcomer runs them, with
/// the `uplink` command pointed at the network by the access setup printed. Released, it kills
/// everything it launched and removes its directory.
final class LaunchedNetwork {
    let directory: URL
    /// The `--dir` of the setup.
    let root: String
    let access: String
    let nodeCount: Int
    let launched: LaunchedSatellite
    let database: SQLiteDatabase

    static var uplink: URL { SatelliteProcess.executable.deletingLastPathComponent().appendingPathComponent("uplink") }

    /// Sets up a network of `nodes` nodes, lets `configure` change the satellite's config file
    /// and `configureNode` each node's (their text in, the text to write out), launches it and
    /// waits until every node has checked in.
    init(nodes: Int, configure: (String) -> String = { $0 }, configureNode: (String) -> String = { $0 }) async throws {
        directory = try temporaryDirectory()
        root = directory.appendingPathComponent("net").path
        nodeCount = nodes
        let base = try Self.freePorts(nodes + 1)
        let setup = try await SatelliteProcess.run(["network", "setup", "--dir", root, "--nodes", "\(nodes)", "--base-port", "\(base)"])
        try #require(setup.status == 0, "\(setup.stderr)")
        access = String(setup.stdout.split(separator: "\n").last ?? "")
        let configFile = root + "/satellite.yaml"
        try configure(try String(contentsOfFile: configFile, encoding: .utf8)).write(toFile: configFile, atomically: true, encoding: .utf8)
        for index in 1...nodes {
            let nodeFile = root + "/node\(index)/storagenode.yaml"
            try configureNode(try String(contentsOfFile: nodeFile, encoding: .utf8)).write(toFile: nodeFile, atomically: true, encoding: .utf8)
        }

        let launched = try LaunchedSatellite(configFile: configFile, dataDir: root + "/satellite", in: directory)
        try await launched.until("the network ready", timeout: 120) { launched.count("ready", of: "launcher") >= 1 }
        let database = try SQLiteDatabase(path: root + "/satellite/satellite.db", busyTimeout: .seconds(5))
        try await launched.until("\(nodes) nodes checked in", timeout: 120) { ((try? await database.nodeCount()) ?? 0) >= nodes }
        self.launched = launched
        self.database = database
    }

    deinit {
        try? database.closeBlocking()
    }

    /// `count` consecutive loopback ports that were free a moment ago, below the range the kernel
    /// hands out for other tests' ephemeral ports (one of which took a node's port in a full run).
    static func freePorts(_ count: Int) throws -> Int {
        let ephemeral = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
        for _ in 0..<100 {
            let base = Int.random(in: 10_000...(ephemeral - count - 1))
            let fds = (0..<count).map { offset -> Int32 in
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(base + offset).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                if bound != 0 { close(fd); return -1 }
                return fd
            }
            fds.filter { $0 >= 0 }.forEach { close($0) }
            if fds.allSatisfy({ $0 >= 0 }) { return base }
        }
        throw CocoaError(.featureUnsupported)
    }

    /// `uplink ARGUMENTS` under this network's access, in the network's directory, its standard
    /// input read from `input` when given.
    func uplink(_ arguments: String..., timeout: Int = 30, input: URL? = nil) async throws -> SatelliteProcess {
        try await SatelliteProcess.run(
            arguments, in: directory, environment: ["UPLINK_ACCESS": access, "HOME": directory.path], program: Self.uplink, timeout: timeout, input: input
        )
    }

    /// `uplink ARGUMENTS` started and left running.
    func startUplink(_ arguments: String...) throws -> Process {
        let process = Process()
        process.executableURL = Self.uplink
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "UPLINK_ACCESS": access, "HOME": directory.path]
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A file of `size` random bytes in the network's directory, and its SHA-256.
    func randomFile(_ name: String, size: Int) throws -> (url: URL, sha256: String) {
        let url = directory.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let output = try FileHandle(forWritingTo: url)
        defer { try? output.close() }
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? random.close() }
        var hasher = SHA256()
        var left = size
        while left > 0 {
            let chunk = try random.read(upToCount: min(left, 4 << 20)) ?? Data()
            hasher.update(data: chunk)
            try output.write(contentsOf: chunk)
            left -= chunk.count
        }
        return (url, Self.hex(hasher.finalize()))
    }

    /// The SHA-256 of the file at `url`, read in chunks.
    static func sha256(of url: URL) throws -> String {
        let input = try FileHandle(forReadingFrom: url)
        defer { try? input.close() }
        var hasher = SHA256()
        while let chunk = try input.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The pid of process `name` of the launcher, as `satellite status` shows it; nil when down.
    func pid(of name: String) async throws -> Int32? {
        let status = try await SatelliteProcess.run(["status", "--config", root + "/satellite.yaml"])
        let row = status.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }.first { $0.first.map(String.init) == name }
        return row.flatMap { $0.count > 1 ? Int32($0[1]) : nil }
    }

    /// Each node's process name (`node1` ...) by its id, from its identity file.
    func nodeNames() throws -> [Data: String] {
        var names: [Data: String] = [:]
        for index in 1...nodeCount {
            names[try IdentityFile.load(from: root + "/node\(index)/identity.key").id.bytes] = "node\(index)"
        }
        return names
    }
}

/// Nodes of a launched network stopped with SIGSTOP while the test checks them in every second
/// in their place, with their own keys: to the satellite they are online, and every transfer to
/// them hangs, as with a node whose disk stopped answering. ``resume()`` sends SIGCONT; so does
/// releasing it. The launcher's hang detection must be off (`heartbeat-timeout: 0s`), or it
/// restarts them.
final class HungNodes {
    private let pids: [Int32]
    private final class Flag: Sendable { let raised = Atomic<Bool>(false) }
    private let stopped = Flag()

    init(_ names: [String], of network: LaunchedNetwork) async throws {
        var pids: [Int32] = []
        var bodies: [(URL, @Sendable () -> Data)] = []
        for name in names {
            let directory = network.root + "/" + name
            let identity = try IdentityFile.load(from: directory + "/identity.key")
            let node = try await #require(try network.database.node(id: identity.id.bytes), "\(name) checked in")
            let config = try String(contentsOfFile: directory + "/storagenode.yaml", encoding: .utf8)
            let satellite = try #require(config.split(separator: "\n").first { $0.contains("satellite-url:") }?.split(separator: " ").last)
            let url = try #require(URL(string: "\(satellite)/v1/contact/checkin"))
            bodies.append((url, { SignedCheckIn(identity: identity, address: node.address, freeDisk: node.freeDisk, version: node.version).json }))
            pids.append(try #require(try await network.pid(of: name), "\(name) is running"))
        }
        for pid in pids { kill(pid, SIGSTOP) }
        self.pids = pids
        // The check-ins run on a thread of their own, not as a task: in a full run the shared
        // pool can go seconds without scheduling a test's task, and a hung node whose check-ins
        // stall past the online window goes offline, which is not what the test arranged.
        let requests = bodies
        let stopped = stopped
        Thread.detachNewThread {
            while !stopped.raised.load(ordering: .relaxed) {
                for (url, body) in requests {
                    var request = URLRequest(url: url)
                    request.httpMethod = "POST"
                    request.timeoutInterval = 5
                    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    let answered = DispatchSemaphore(value: 0)
                    URLSession.shared.uploadTask(with: request, from: body()) { _, _, _ in answered.signal() }.resume()
                    _ = answered.wait(timeout: .now() + 6)
                }
                usleep(1_000_000)
            }
        }
    }

    func resume() {
        stopped.raised.store(true, ordering: .relaxed)
        for pid in pids { kill(pid, SIGCONT) }
    }

    deinit { resume() }
}

import Foundation

/// Hosts of their own on this machine for a test: network namespaces, each with a veth pair whose
/// other end is on a bridge in this (the test's) namespace, all on one /24. The test's namespace
/// is a client host at `.1`; the hosts are `.2`, `.3`, ... Needs root and iproute2; ``remove()``
/// kills every process left in the hosts and deletes them.
final class TestHosts: @unchecked Sendable {
    let names: [String]
    let addresses: [String]
    let clientAddress: String
    private let bridge: String
    private let tag: String

    static var canRun: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
            && (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.isEmpty == false
    }

    /// Makes `count` hosts named `name-<tag>`.
    init(_ hostNames: [String]) throws {
        let tag = String(format: "%04x", UInt16.random(in: 0...0xFFFF))
        self.tag = tag
        let subnet = "10.\(200 + Int.random(in: 0..<50)).\(Int.random(in: 1..<250))"
        bridge = "stb\(tag)"
        names = hostNames.map { "\($0)-\(tag)" }
        addresses = hostNames.indices.map { "\(subnet).\($0 + 2)" }
        clientAddress = "\(subnet).1"
        do {
            try Self.ip(["link", "add", bridge, "type", "bridge"])
            try Self.ip(["addr", "add", "\(clientAddress)/24", "dev", bridge])
            try Self.ip(["link", "set", bridge, "up"])
            for (index, name) in names.enumerated() {
                let outside = "st\(tag)o\(index)", inside = "st\(tag)i\(index)"
                try Self.ip(["netns", "add", name])
                try Self.ip(["link", "add", outside, "type", "veth", "peer", "name", inside])
                try Self.ip(["link", "set", outside, "master", bridge])
                try Self.ip(["link", "set", outside, "up"])
                try Self.ip(["link", "set", inside, "netns", name])
                try Self.ip(["-n", name, "addr", "add", "\(addresses[index])/24", "dev", inside])
                try Self.ip(["-n", name, "link", "set", inside, "up"])
                try Self.ip(["-n", name, "link", "set", "lo", "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    /// `command` run on host `index` (through `ip netns exec`).
    func command(_ index: Int, _ command: [String]) -> [String] {
        ["netns", "exec", names[index]] + command
    }

    /// Runs `command` on host `index` to its end; its standard output. Awaits the end instead of
    /// blocking on it: starting or killing a database server takes seconds, and a blocked thread
    /// of the shared pool (two on this machine) stalls every other test's tasks, among them the
    /// load this test measures (CI saw a request "take" 10 s that way).
    @discardableResult
    func run(_ index: Int, _ command: [String]) async throws -> String {
        try await Self.ipAwaited(self.command(index, command))
    }

    /// ``run(_:_:)`` blocking the calling thread, for teardown where nothing can be awaited.
    @discardableResult
    func runBlocking(_ index: Int, _ command: [String]) throws -> String {
        try Self.ip(self.command(index, command))
    }

    /// Kills what still runs in the hosts and deletes them and the bridge.
    func remove() {
        for name in names {
            let pids = (try? Self.ip(["netns", "pids", name])) ?? ""
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            _ = try? Self.ip(["netns", "del", name])
        }
        _ = try? Self.ip(["link", "del", bridge])
    }

    deinit { remove() }

    struct CommandFailed: Error, CustomStringConvertible {
        let arguments: [String]
        let status: Int32
        let output: String
        var description: String { "ip \(arguments.joined(separator: " ")) exited \(status): \(output)" }
    }

    /// Runs `ip` to its end. Its output goes to a file, not a pipe: a daemon it starts (the
    /// database server) may inherit the descriptor and would hold a pipe open for ever.
    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let (process, file, out) = try start(arguments)
        process.waitUntilExit()
        return try finish(arguments, process, file, out)
    }

    /// ``ip(_:)``, polling for its end with `Task.sleep`.
    static func ipAwaited(_ arguments: [String]) async throws -> String {
        let (process, file, out) = try start(arguments)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        process.waitUntilExit()
        return try finish(arguments, process, file, out)
    }

    private static func start(_ arguments: [String]) throws -> (Process, URL, FileHandle) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ip-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let out = try FileHandle(forWritingTo: file)
        process.standardOutput = out
        process.standardError = out
        do {
            try process.run()
        } catch {
            try? out.close()
            try? FileManager.default.removeItem(at: file)
            throw error
        }
        return (process, file, out)
    }

    private static func finish(_ arguments: [String], _ process: Process, _ file: URL, _ out: FileHandle) throws -> String {
        defer { try? FileManager.default.removeItem(at: file) }
        try? out.close()
        let text = String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
        guard process.terminationStatus == 0 else { throw CommandFailed(arguments: arguments, status: process.terminationStatus, output: text) }
        return text
    }
}

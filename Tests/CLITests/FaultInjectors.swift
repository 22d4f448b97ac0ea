import Foundation
import Testing

/// Runs a system tool and returns its exit status, polling (not blocking a thread of the shared
/// pool) until it ends.
func runTool(_ path: String, _ arguments: [String]) async throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + .seconds(30)
    while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return process.terminationStatus
}

/// A small tmpfs mounted on the run's log directory, so that the run can fill it to the last
/// byte and make it refuse new files; unmounted when released. Mounting needs root (as in CI).
final class LogMount {
    let path: String
    /// Whether the filesystem takes `chattr +i` (tmpfs does from Linux 6.0).
    private(set) var canFreeze = false
    private var mounted = false
    private var filler: Int32 = -1

    private init(path: String) {
        self.path = path
    }

    /// Mounts `megabytes` of tmpfs on `path`; nil when this user may not mount.
    static func mount(on path: String, megabytes: Int) async throws -> LogMount? {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard getuid() == 0, try await runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "satellite-fault-logs", path]) == 0 else { return nil }
        let mount = LogMount(path: path)
        mount.mounted = true
        if try await runTool("/usr/bin/chattr", ["+i", path]) == 0 {
            mount.canFreeze = try await runTool("/usr/bin/chattr", ["-i", path]) == 0
        }
        return mount
    }

    /// Takes every free byte (a file of zeros grown until the disk says ENOSPC).
    func fill() {
        filler = open(path + "/.filler", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var size = chunk.count
        while size > 0 {
            if chunk.withUnsafeBytes({ write(filler, $0.baseAddress, size) }) < 0 { size /= 2 }
        }
    }

    /// Gives the space back.
    func free() {
        if filler >= 0 { close(filler) }
        filler = -1
        unlink(path + "/.filler")
    }

    /// Whether new files may be made and files renamed in the directory (`chattr -i` / `+i`):
    /// files already open can still be written, as when an operator's directory turns read-only.
    func setWritable(_ writable: Bool) async throws {
        _ = try await runTool("/usr/bin/chattr", [writable ? "-i" : "+i", path])
    }

    func unmount() {
        guard mounted else { return }
        free()
        // Synchronous on purpose: teardown runs where awaiting is not possible; both are instant.
        for arguments in [["/usr/bin/chattr", "-i", path], ["/bin/umount", "-l", path]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
            try? process.run()
            process.waitUntilExit()
        }
        mounted = false
    }

    deinit { unmount() }
}

/// Another process (Python's sqlite3) holding the database's write lock: `BEGIN EXCLUSIVE`, then
/// nothing for `seconds`, then `COMMIT`.
final class DatabaseLocker {
    private let process = Process()
    private let marker: String

    init(database: String, seconds: Double) throws {
        marker = database + ".locked-by-test"
        unlink(marker)
        let script = """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            c.execute("BEGIN EXCLUSIVE")
            open(sys.argv[2], "w").close()
            time.sleep(float(sys.argv[3]))
            c.execute("COMMIT")
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, database, marker, String(seconds)]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// Returns once the lock is held.
    func untilLocked() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: marker) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                Issue.record("the locking process did not take the lock (exit \(process.isRunning ? "none" : String(process.terminationStatus)))")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Returns once the lock is released and the process has ended.
    func untilReleased() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!process.isRunning && process.terminationStatus == 0, "the locking process failed")
    }

    deinit {
        if process.isRunning { process.terminate() }
        unlink(marker)
    }
}

/// Every `request_id` in the API's log files (the current one and the rotated ones).
func loggedRequestIDs(in directory: String) -> Set<String> {
    var ids = Set<String>()
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    for name in names where name == "api.log" || name.hasPrefix("api.log.") {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
        let text = String(decoding: data, as: UTF8.self)
        var rest = text[...]
        let field = "\"request_id\":\""
        while let start = rest.range(of: field) {
            let value = rest[start.upperBound...]
            guard let end = value.firstIndex(of: "\"") else { break }
            ids.insert(String(value[..<end]))
            rest = value[end...]
        }
    }
    return ids
}

/// Lines of the log files in `directory` on which one record runs into the next (a line cut
/// short that the next one did not end first).
func gluedLogLines(in directory: String) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    var glued: [String] = []
    for name in names where name.contains(".log") {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("{") {
            if line.components(separatedBy: "{\"ts\":").count > 2 { glued.append("\(name): \(line.prefix(200))") }
        }
    }
    return glued
}

/// Whether `pid` has a handler for `signal` (from SigCgt in /proc/PID/status).
func catches(_ pid: Int32, _ signal: Int32) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
        let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return false }
    return mask & (1 << UInt64(signal - 1)) != 0
}

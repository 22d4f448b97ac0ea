import Foundation

/// A process as the kernel knows it: its pid and its start time. A pid alone names whichever
/// process holds it now, and pids come round again (32,768 of them here, used up in minutes by a
/// long fault run); with its start time it names one process only.
struct ProcessIdentity: Hashable, CustomStringConvertible {
    let pid: Int32
    /// Clock ticks from boot to the process's start (field 22 of /proc/PID/stat).
    let startTime: UInt64
    let parent: Int32
    let isZombie: Bool

    /// The process that holds `pid` now; nil when none does.
    init?(pid: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        // After the name in parentheses: state is field 3, the parent 4, the start time 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let parent = Int32(fields[1]), let startTime = UInt64(fields[19]) else { return nil }
        self.pid = pid
        self.startTime = startTime
        self.parent = parent
        self.isZombie = fields[0] == "Z"
    }

    /// Whether this very process still runs (not a zombie, and its pid not handed on).
    var isAlive: Bool {
        guard let now = ProcessIdentity(pid: pid) else { return false }
        return now.startTime == startTime && !now.isZombie
    }

    /// Sends `signal` if this very process still holds its pid; never to one that took it over.
    func signal(_ signal: Int32) {
        if isAlive { kill(pid, signal) }
    }

    var description: String { "\(pid) (started at tick \(startTime))" }

    static func == (a: Self, b: Self) -> Bool { a.pid == b.pid && a.startTime == b.startTime }
    func hash(into hasher: inout Hasher) {
        hasher.combine(pid)
        hasher.combine(startTime)
    }

    /// Every process running now.
    static func all() -> [ProcessIdentity] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).compactMap(ProcessIdentity.init(pid:))
    }
}

/// The children of `pid`, their children and so on, as they are now.
func descendants(of pid: Int32) -> [ProcessIdentity] {
    let children = Dictionary(grouping: ProcessIdentity.all().filter { !$0.isZombie }, by: \.parent)
    var found: [ProcessIdentity] = []
    var parents = [pid]
    while let parent = parents.popLast() {
        for child in children[parent] ?? [] {
            found.append(child)
            parents.append(child.pid)
        }
    }
    return found
}

/// The processes whose working directory is `directory` or one below it: a launched satellite
/// and everything it spawned work there, whatever their pids.
func processes(workingIn directory: URL) -> [ProcessIdentity] {
    let root = directory.standardizedFileURL.path
    return ProcessIdentity.all().filter { process in
        guard !process.isZombie, let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process.pid)/cwd") else { return false }
        return cwd == root || cwd.hasPrefix(root + "/")
    }
}

/// Makes `pid` the last pid the kernel gave out, so that the next process gets the one after it
/// (if free), as checkpoint/restore tools do. Needs root.
/// - Returns: why it could not, or nil.
func setLastPid(_ pid: Int32) -> String? {
    let file = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC)
    guard file >= 0 else { return "cannot open ns_last_pid: \(String(cString: strerror(errno)))" }
    defer { close(file) }
    let text = Array(String(pid).utf8)
    return write(file, text, text.count) == text.count ? nil : "cannot set ns_last_pid: \(String(cString: strerror(errno)))"
}

/// A number the kernel keeps in /proc/sys/kernel: `ns_last_pid`, the last pid it gave out, or
/// `pid_max`, the largest pid plus one.
func kernelNumber(_ name: String) -> Int32? {
    (try? String(contentsOfFile: "/proc/sys/kernel/\(name)", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
}

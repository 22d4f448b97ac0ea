import Glibc
import Logging
import Supervision
import Synchronization
import Testing

/// Every event a supervisor reported, with a bounded wait for the one a test expects.
final class EventLog: Sendable {
    private let records = Mutex<[SupervisorRecord]>([])

    func append(_ record: SupervisorRecord) {
        records.withLock { $0.append(record) }
    }

    var all: [SupervisorRecord] { records.withLock { $0 } }

    func events(of process: String) -> [SupervisorEvent] {
        all.filter { $0.process == process }.map(\.event)
    }

    /// Polls until `predicate` holds for the records so far; fails the test after `timeout`.
    @discardableResult
    func until(
        _ what: String,
        timeout: Duration = .seconds(30),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ predicate: ([SupervisorRecord]) -> Bool
    ) async throws -> [SupervisorRecord] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let snapshot = all
            if predicate(snapshot) { return snapshot }
            try await Task.sleep(for: .milliseconds(5))
        }
        let shown = all.map { "\($0.process ?? "-"): \($0.event)" }.joined(separator: "\n")
        Issue.record("timed out waiting for \(what); events so far:\n\(shown)", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    /// Waits until `count` events of `process` match `predicate`.
    func until(_ process: String, count: Int = 1, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation, _ predicate: @escaping (SupervisorEvent) -> Bool) async throws {
        try await until("\(count) matching event(s) of \(process)", timeout: timeout, sourceLocation: sourceLocation) { records in
            records.filter { $0.process == process && predicate($0.event) }.count >= count
        }
    }

    /// The pids of every spawn so far.
    var spawnedPids: [Int32] {
        all.compactMap { if case .spawned(let pid) = $0.event { pid } else { nil } }
    }
}

/// A supervisor over scripted children in a temporary directory, torn down even when the test
/// fails: stopped, killed if it will not stop, and every process group it spawned killed.
struct SupervisorHarness: Sendable {
    let directory: String
    let events = EventLog()
    let supervisor: Supervisor
    let outcome: Task<SupervisorOutcome, any Error>

    static func tempDirectory() -> String {
        var template = Array("/tmp/supervision-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    init(directory: String = tempDirectory(), _ specs: [ProcessSpec], trapsSignals: Bool = false) throws {
        self.directory = directory
        var options = SupervisorOptions(guardProgram: SupervisorOptions.guardProgramBesideExecutable(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let events = self.events
        options.observer = { events.append($0) }
        options.trapsSignals = trapsSignals
        let supervisor = try Supervisor(specs: specs, options: options)
        self.supervisor = supervisor
        outcome = Task { try await supervisor.run() }
    }

    /// Waits for the supervisor to finish by itself, up to `timeout`; records an issue when it
    /// does not and `recording` says so.
    func finished(timeout: Duration = .seconds(30), recording: Bool = true) async throws -> SupervisorOutcome {
        let deadline = ContinuousClock.now + timeout
        let done = Mutex<SupervisorOutcome?>(nil)
        let waiter = Task { [outcome] in
            let value = try await outcome.value
            done.withLock { $0 = value }
        }
        defer { waiter.cancel() }
        while ContinuousClock.now < deadline {
            if let value = done.withLock({ $0 }) { return value }
            try await Task.sleep(for: .milliseconds(2))
        }
        if recording { Issue.record("supervisor did not finish within \(timeout)") }
        throw CancellationError()
    }

    /// Stops the supervisor and waits for its outcome.
    func stop(timeout: Duration = .seconds(30)) async throws -> SupervisorOutcome {
        supervisor.shutdown()
        return try await finished(timeout: timeout)
    }

    /// Stops the supervisor, kills it if it will not stop, and removes what the test made. The
    /// first wait is long and quiet: in a full run this task can go unscheduled for seconds
    /// (CI saw 5 s), and a slow wake-up is not the supervisor failing to stop. A supervisor
    /// still running after its kill is.
    func tearDown() async {
        supervisor.shutdown()
        if (try? await finished(timeout: .seconds(30), recording: false)) == nil {
            supervisor.kill()
            _ = try? await finished(timeout: .seconds(30))
        }
        for pid in events.spawnedPids { kill(-pid, SIGKILL) }
        _ = system("rm -rf '\(directory)'")
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func read(_ name: String) -> String {
        guard let file = fopen(path(name), "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Runs `body` with a harness and always tears it down.
func withSupervisor(
    in directory: String = SupervisorHarness.tempDirectory(), _ specs: [ProcessSpec], trapsSignals: Bool = false,
    _ body: (SupervisorHarness) async throws -> Void
) async throws {
    let harness = try SupervisorHarness(directory: directory, specs, trapsSignals: trapsSignals)
    do {
        try await body(harness)
    } catch {
        await harness.tearDown()
        throw error
    }
    await harness.tearDown()
}

/// A `sh -c` child.
func shell(_ name: String, _ script: String, notify: Bool = false, after: [String] = [], oneshot: Bool = false, restart: RestartPolicy = .always, log: String? = nil, _ adjust: (inout SupervisionTimings) -> Void = { _ in }) -> ProcessSpec {
    var timings = SupervisionTimings()
    timings.heartbeatTimeout = .zero
    adjust(&timings)
    return ProcessSpec(
        name: name, executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"],
        after: after, oneshot: oneshot, restart: restart, notify: notify, timings: timings, logPath: log
    )
}

/// Whether a process is gone (or only a zombie waiting for a reaper that is not us).
func isGone(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return true }
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return true }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    guard fgets(&line, Int32(line.count), file) != nil else { return true }
    let text = cText(line)
    guard let close = text.lastIndex(of: ")") else { return false }
    return text[text.index(close, offsetBy: 2)] == "Z"
}

/// Polls until `condition` holds, failing the test after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(15), sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}

/// The text of a NUL-terminated C buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

#if canImport(Glibc)
import Glibc
#endif

/// What a launcher hands the program that replaces it in its own process when it upgrades in
/// place: the plan it was started with, and everything it learned since — each child's state,
/// restarts, backoff and restart times, the descriptors it watches the child by (pidfd, notify
/// and output pipes, log file, journal stream) and half-read lines, the control and debug
/// listeners, the group guard, and the control connections waiting for the upgrade's answer.
///
/// Encoded as the plan is (NUL-separated text, in a memory file the new program inherits), so
/// that the launcher reads it without Foundation. Times travel as ages against a clock reading
/// taken when the state was written, so they mean the same instants after the exec.
public struct Handover: Sendable {
    public let plan: LaunchPlan
    /// The version of the launcher that handed over.
    public let previousVersion: String
    let launcher: HandedLauncher
    let children: [HandedChild]

    static let magic = "satellite-handover-1"

    init(plan: LaunchPlan, previousVersion: String, launcher: HandedLauncher, children: [HandedChild]) {
        self.plan = plan
        self.previousVersion = previousVersion
        self.launcher = launcher
        self.children = children
    }

    /// Every descriptor the state names, which must survive the exec (and only it).
    var descriptors: [Int32] {
        var fds = [launcher.controlListener, launcher.debugListener, launcher.guardPidfd, launcher.guardChannel] + launcher.requesters
        for child in children {
            fds += [child.pidfd, child.notifyRead, child.notifyWrite, child.outputRead, child.outputWrite, child.logDescriptor, child.journalStream]
        }
        return fds.filter { $0 > 2 }
    }

    public func encoded() -> [UInt8] {
        let time = TimeBase()
        var fields = [Self.magic, previousVersion, String(time.boottime)] + plan.fields
        let l = launcher
        fields += [time.age(l.launchedAt), String(l.controlListener), String(l.debugListener)]
        fields += [String(l.guardPid), String(l.guardPidfd), String(l.guardChannel)]
        for list in [l.startedSequence, l.restartWhenDown, l.requesters.map(Int.init)] {
            fields.append(String(list.count))
            fields += list.map(String.init)
        }
        for child in children {
            fields += Self.fields(child.machine, time)
            fields += [child.pidfd, child.notifyRead, child.notifyWrite, child.outputRead, child.outputWrite, child.logDescriptor, child.journalStream].map { String($0) }
            fields += [FieldWriter.hex(child.notifyPending), child.notifyDiscarding ? "1" : "0"]
            fields += [FieldWriter.hex(child.outputPending), String(child.malformedMessages)]
        }
        return FieldWriter.bytes(fields)
    }

    /// - Throws: ``LaunchPlanError`` when the bytes are not a handover this version reads.
    public init(decoding bytes: [UInt8]) throws(LaunchPlanError) {
        var reader = FieldReader(bytes: bytes)
        guard try reader.text() == Self.magic else { throw LaunchPlanError(detail: "not a launcher's handover of this version") }
        previousVersion = try reader.text()
        let time = TimeBase(then: try reader.integer())
        plan = try LaunchPlan(reading: &reader)
        let launchedAt = time.instant(try reader.integer())
        let control = try reader.descriptor(), debug = try reader.descriptor()
        let guardPid = Int32(try reader.integer()), guardPidfd = try reader.descriptor(), guardChannel = try reader.descriptor()
        var lists: [[Int]] = []
        for _ in 0..<3 {
            var list: [Int] = []
            for _ in 0..<(try reader.count()) { list.append(try reader.integer()) }
            lists.append(list)
        }
        guard lists[0].allSatisfy(plan.specs.indices.contains), lists[1].allSatisfy(plan.specs.indices.contains) else {
            throw LaunchPlanError(detail: "a process index out of range")
        }
        launcher = HandedLauncher(
            launchedAt: launchedAt, startedSequence: lists[0], restartWhenDown: lists[1], controlListener: control, debugListener: debug,
            guardPid: guardPid, guardPidfd: guardPidfd, guardChannel: guardChannel, requesters: lists[2].map { Int32(truncatingIfNeeded: $0) }
        )
        var children: [HandedChild] = []
        for _ in plan.specs {
            let machine = try Self.machine(&reader, time)
            var fds: [Int32] = []
            for _ in 0..<7 { fds.append(try reader.descriptor()) }
            children.append(HandedChild(
                machine: machine, pidfd: fds[0], notifyRead: fds[1], notifyWrite: fds[2], outputRead: fds[3], outputWrite: fds[4],
                logDescriptor: fds[5], journalStream: fds[6], notifyPending: try reader.hexBytes(),
                notifyDiscarding: try reader.flag(), outputPending: try reader.hexBytes(), malformedMessages: try reader.count()
            ))
        }
        guard reader.atEnd else { throw LaunchPlanError(detail: "bytes left after the last process") }
        self.children = children
    }

    // MARK: A machine's state

    private static func fields(_ saved: ChildMachine.Saved, _ time: TimeBase) -> [String] {
        var fields: [String]
        func run(_ run: ChildRun) -> [String] {
            [String(run.pid), time.age(run.spawnedAt), run.readyAt == nil ? "0" : "1", run.readyAt.map(time.age) ?? "0", time.age(run.heartbeat)]
                + [run.version ?? "", run.version == nil ? "0" : "1"]
        }
        switch saved.state {
        case .idle: fields = ["idle"]
        case .starting(let r): fields = ["starting"] + run(r)
        case .ready(let r): fields = ["ready"] + run(r)
        case .stopping(let r, let reason, let killAt, let killed):
            fields = ["stopping"] + run(r) + [reason == .hung ? "hung" : "requested", time.age(killAt), killed ? "1" : "0"]
        case .backingOff(let until): fields = ["backing-off", time.age(until)]
        case .down(let status): fields = ["down"] + exitFields(status)
        }
        fields += [String(saved.backoffFailures), String(saved.restarts), saved.restartsAllowed ? "1" : "0"] + exitFields(saved.lastExit)
        fields.append(String(saved.intensityTimes.count))
        fields += saved.intensityTimes.map(time.age)
        return fields
    }

    private static func machine(_ reader: inout FieldReader, _ time: TimeBase) throws(LaunchPlanError) -> ChildMachine.Saved {
        func run() throws(LaunchPlanError) -> ChildRun {
            let pid = Int32(truncatingIfNeeded: try reader.integer())
            var run = ChildRun(pid: pid, spawnedAt: time.instant(try reader.integer()))
            let hasReady = try reader.flag()
            let ready = time.instant(try reader.integer())
            run.readyAt = hasReady ? ready : nil
            run.heartbeat = time.instant(try reader.integer())
            let version = try reader.text()
            run.version = try reader.flag() ? version : nil
            return run
        }
        let state: ChildState
        switch try reader.text() {
        case "idle": state = .idle
        case "starting": state = .starting(try run())
        case "ready": state = .ready(try run())
        case "stopping":
            let r = try run()
            let reason: StopReason = try reader.text() == "hung" ? .hung : .requested
            state = .stopping(r, reason, killAt: time.instant(try reader.integer()), killed: try reader.flag())
        case "backing-off": state = .backingOff(until: time.instant(try reader.integer()))
        case "down": state = .down(try exitStatus(&reader))
        case let other: throw LaunchPlanError(detail: "unknown process state \"\(other)\"")
        }
        let failures = try reader.count(), restarts = try reader.count(), allowed = try reader.flag()
        let lastExit = try exitStatus(&reader)
        var times: [ContinuousClock.Instant] = []
        for _ in 0..<(try reader.count()) { times.append(time.instant(try reader.integer())) }
        return ChildMachine.Saved(state: state, backoffFailures: failures, intensityTimes: times, restarts: restarts, lastExit: lastExit, restartsAllowed: allowed)
    }

    private static func exitFields(_ status: ExitStatus?) -> [String] {
        switch status {
        case nil: ["none", "0"]
        case .exited(let code)?: ["code", String(code)]
        case .signalled(let signal)?: ["signal", String(signal)]
        }
    }

    private static func exitStatus(_ reader: inout FieldReader) throws(LaunchPlanError) -> ExitStatus? {
        let kind = try reader.text()
        let value = Int32(truncatingIfNeeded: try reader.integer())
        switch kind {
        case "none": return nil
        case "code": return .exited(code: value)
        case "signal": return .signalled(value)
        default: throw LaunchPlanError(detail: "unknown exit \"\(kind)\"")
        }
    }
}

/// The launcher's own part of a ``Handover``. A descriptor or pid of -1 is absent.
struct HandedLauncher: Sendable, Equatable {
    var launchedAt: ContinuousClock.Instant
    var startedSequence: [Int]
    var restartWhenDown: [Int]
    var controlListener: Int32
    var debugListener: Int32
    var guardPid: Int32
    var guardPidfd: Int32
    var guardChannel: Int32
    /// Control connections that asked for the upgrade; the new launcher answers them.
    var requesters: [Int32]
}

/// One process's part of a ``Handover``. A descriptor of -1 is absent.
struct HandedChild: Sendable, Equatable {
    var machine: ChildMachine.Saved
    var pidfd: Int32
    var notifyRead: Int32
    var notifyWrite: Int32
    var outputRead: Int32
    var outputWrite: Int32
    var logDescriptor: Int32
    var journalStream: Int32
    var notifyPending: [UInt8]
    var notifyDiscarding: Bool
    var outputPending: [UInt8]
    var malformedMessages: Int
}

/// Instants as nanoseconds before the moment the state was written, and that moment as a
/// reading of CLOCK_BOOTTIME, which the next program in the same process reads too.
private struct TimeBase {
    let boottime: Int
    private let now: ContinuousClock.Instant

    init() {
        now = .now
        boottime = Self.readBoottime()
    }

    /// For reading: ages were taken `then`; the time since is added to them.
    init(then: Int) {
        now = .now - .nanoseconds(max(0, Self.readBoottime() - then))
        boottime = then
    }

    func age(_ instant: ContinuousClock.Instant) -> String {
        String((now - instant).nanoseconds)
    }

    func instant(_ age: Int) -> ContinuousClock.Instant {
        now - .nanoseconds(age)
    }

    private static func readBoottime() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }
}

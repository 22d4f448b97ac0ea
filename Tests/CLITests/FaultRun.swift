import Foundation
import SatelliteDB
import SatelliteDBSQLite
import Testing

/// What the fault run does to the satellite.
enum Fault: String, CaseIterable, Comparable {
    /// A child killed outright.
    case kill = "SIGKILL"
    /// A child frozen until the launcher finds it hung (then let go).
    case freeze = "SIGSTOP"
    /// A child that crashes.
    case abort = "SIGABRT"
    case segfault = "SIGSEGV"
    /// A child that exits 1 by itself: two stop signals at once take a peer's "second signal,
    /// exit now" path.
    case exit1 = "exit(1)"
    /// The launcher killed outright, then launched again on the same data.
    case launcherKill = "launcher SIGKILL"
    /// Not one free byte left where the logs are.
    case logDiskFull = "log disk full"
    /// A log directory in which nothing can be made or renamed (files open stay writable).
    case logDirReadOnly = "log dir read-only"
    /// Another process holding the database's write lock beyond the busy timeout.
    case databaseLocked = "database locked"

    static func < (a: Fault, b: Fault) -> Bool { a.rawValue < b.rawValue }

    /// The faults that kill or replace a process.
    var restartsSomething: Bool { ![.logDiskFull, .logDirReadOnly, .databaseLocked].contains(self) }
}

/// The fault-injection run: a satellite launched as operators launch it, a steady client load on
/// its API, and faults one after another. After each fault it checks that the launcher is alive
/// (or was killed on purpose and launched again), every process is ready again within 30 s, the API
/// serves, the launcher holds no extra descriptor and no zombie, and every request answered so far
/// has its line in the API's log. At the end: every acknowledged write is in the database whole, the
/// database is sound, and no process of any launch outlived the run.
final class FaultRun {
    static let busyTimeout = "500ms"
    static let lockHeld = Duration.milliseconds(1500)

    let port: Int
    let flags: [String]
    let dataDir: String
    private let mount: LogMount?
    private let first: LaunchedSatellite
    private(set) var satellite: LaunchedSatellite
    private var descriptorBaseline = 0
    private var load: FaultLoad!

    private(set) var rounds: [Fault: Int] = [:]
    private(set) var recoveries: [Fault: [Duration]] = [:]
    private(set) var exitCodes: [String: Int] = [:]
    private(set) var crashesStoppedAsHung = 0
    private(set) var crashReportsFound = 0
    /// Rounds of the full log disk in which the API's log writes failed (in the others a
    /// rotation freed enough by deleting the oldest file).
    private(set) var logWritesFailed = 0
    /// Each child's recovery, and the backoff its restart waited out, in the order of the faults.
    private(set) var childRecoveries: [(total: Duration, backoff: Duration)] = []
    /// Answered requests whose log line the run has not found yet, and those it may not find
    /// (answered while the log disk was full, or in the moment before the launcher was killed,
    /// with its lines unread in its pipes).
    private var unverified: [FaultLoad.Answered] = []
    private var exempt: [(from: ContinuousClock.Instant, to: ContinuousClock.Instant)] = []
    private(set) var verifiedLines = 0
    private(set) var exemptLines = 0
    private(set) var missingLines: [String] = []
    private var generator = SystemRandomNumberGenerator()

    /// Launches the satellite (logs on a tmpfs of their own when this user may mount one), makes
    /// a project, a key and a bucket, and starts the load.
    init() async throws {
        port = try freePort()
        // A heartbeat timeout of 3 s: the Swift runtime's crash report of a debug build takes
        // over a second to write, and a crashing peer is silent meanwhile.
        flags = [
            "--api.address=127.0.0.1:\(port)", "--supervisor.heartbeat-interval=100ms", "--supervisor.heartbeat-timeout=3s",
            "--supervisor.stop-timeout=1s", "--supervisor.restart-backoff-initial=50ms", "--supervisor.restart-limit=100000",
            "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true", "--contact.max-nodes-per-source=0", "--contact.max-nodes-per-source-network=0", "--metainfo.redundancy=2/3/4/5", "--database.busy-timeout=\(Self.busyTimeout)",
            "--log.level=debug", "--log.max-size=128KiB", "--log.max-files=20",
        ]
        let directory = try temporaryDirectory()
        dataDir = directory.appendingPathComponent("data").path
        mount = try await LogMount.mount(on: dataDir + "/log", megabytes: 48)
        first = try LaunchedSatellite(in: directory, flags: flags)
        satellite = first
        _ = try await untilReady("the launch")
        descriptorBaseline = openDescriptors(of: satellite.pid)
        #expect(try await SatelliteProcess.run(["admin", "create-project", "load", "--data-dir", dataDir]).status == 0)
        let key = try await SatelliteProcess.run(["admin", "create-api-key", "load", "--data-dir", dataDir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let bucket = "POST /v1/buckets HTTP/1.1\r\nHost: s\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"name\":\"load\"}"
        #expect(rawTCP(port, Array(bucket.utf8)).hasPrefix("HTTP/1.1 201"))
        load = FaultLoad(port: port, key: key)
        load.start()
    }

    deinit {
        load?.stop()
        // The launchers (and what they spawned) go before the mount under their logs.
        satellite.killAll()
        first.killAll()
        mount?.unmount()
    }

    /// The faults this machine can inject: the log faults need a mount of their own, and the
    /// read-only one a filesystem that takes `chattr +i`.
    var availableFaults: [Fault] {
        Fault.allCases.filter { fault in
            switch fault {
            case .logDiskFull: mount != nil
            case .logDirReadOnly: mount?.canFreeze == true
            default: true
            }
        }
    }

    // MARK: Rounds

    /// Injects `fault`, waits for recovery, and checks what must hold after every fault.
    func inject(_ fault: Fault) async throws {
        let victim = ["core", "api", "repairer"].randomElement(using: &generator)!
        let before = load.snapshot
        let restartsBefore = try await restartCounts()
        var exitRecord: Int?
        var launcherKilledAt: ContinuousClock.Instant?
        switch fault {
        case .kill:
            let process = try running(victim)
            let pid = process.pid
            process.signal(SIGKILL)
            exitRecord = try await untilExited(victim, pid: pid)
        case .abort, .segfault:
            // The Swift runtime catches a crash signal, writes its crash report to standard error
            // and lets go of the signal; a fault from outside (unlike a real one, which recurs)
            // then needs a second signal to end the process, as the crash would have.
            let signal = fault == .abort ? SIGABRT : SIGSEGV
            let process = try running(victim)
            let pid = process.pid
            let log = dataDir + "/log/\(victim).log"
            let before = (file: inode(log), size: fileSize(log))
            // What the log gained since the fault; nil once the file was rotated.
            func appended() -> String? {
                guard inode(log) == before.file else { return nil }
                return String(decoding: (FileManager.default.contents(atPath: log) ?? Data()).dropFirst(before.size), as: UTF8.self)
            }
            let caught = catches(pid, signal)
            process.signal(signal)
            if caught {
                // The runtime drops its crash handlers before it writes the report, and its memory
                // server takes SIGBUS and SIGSEGV again while the report is written: the report is
                // whole once its last line is in the log and SIGBUS is let go of for good.
                try await satellite.until("the crash report of \(victim)") {
                    guard process.isAlive else { return true }
                    guard !catches(pid, SIGBUS) else { return false }
                    guard let text = appended() else { return true }
                    return text.contains("\nBacktrace took ") || text.contains(" failed ***")
                }
            }
            process.signal(signal)
            let exit = try await untilExited(victim, pid: pid)
            exitRecord = exit
            if caught, satellite.records[exit]["signal"] as? String == (signal == SIGABRT ? "SIGABRT" : "SIGSEGV") {
                // Its last words are in its log, though it died right after writing them (unless
                // the file was rotated meanwhile).
                if let text = appended() {
                    #expect(text.contains("*** Program crashed") || text.contains("*** Signal "), "the log of \(victim) lacks the crash report written before it died")
                    crashReportsFound += 1
                }
            } else if caught {
                // Writing the report took longer than the heartbeat timeout (the runtime stops
                // every thread meanwhile), so the launcher stopped it as hung first.
                crashesStoppedAsHung += 1
            }
        case .freeze:
            let process = try running(victim)
            let pid = process.pid
            process.signal(SIGSTOP)
            try await satellite.until("\(victim) found hung") { satellite.records.contains { $0["msg"] as? String == "hung" && $0["pid"] as? String == String(pid) } }
            process.signal(SIGCONT)
            exitRecord = try await untilExited(victim, pid: pid)
        case .exit1:
            // Both signals are pending when the peer runs again, so it sees the second at once.
            let process = try running(victim)
            let pid = process.pid
            process.signal(SIGSTOP)
            process.signal(SIGTERM)
            process.signal(SIGINT)
            process.signal(SIGCONT)
            exitRecord = try await untilExited(victim, pid: pid)
        case .launcherKill:
            exempt.append((ContinuousClock.now - .milliseconds(250), ContinuousClock.now))
            launcherKilledAt = .now
            kill(satellite.pid, SIGKILL)
            _ = try await satellite.exitStatus()
            exempt[exempt.count - 1].to = .now
            satellite = try LaunchedSatellite(reusing: dataDir, flags: flags)
        case .logDiskFull:
            let mount = try #require(mount)
            let start = ContinuousClock.now
            let seen = satellite.records.count
            mount.fill()
            // The API keeps answering while not one of its lines can be written (beyond what
            // fits in the last pages of the files open, a few KiB).
            try await satellite.until("requests answered while the log disk is full") { load.snapshot.answered > before.answered + 200 }
            mount.free()
            // Lines the launcher had not read yet when the disk filled are dropped too.
            exempt.append((start - .milliseconds(250), .now + .milliseconds(100)))
            // Every failure to write is followed, once there is space again, by its notice. (A
            // rotation while the disk is full deletes the oldest file, and the space it frees may
            // be enough: then nothing failed at all.)
            func notices(_ message: String) -> Int {
                satellite.records[seen...].filter { $0["msg"] as? String == message && $0["process"] as? String == "api" }.count
            }
            try await satellite.until("the launcher to say log writes work again") {
                notices("log writes work again") >= notices("cannot write log; dropping lines until writes work again")
            }
            if notices("log writes work again") > 0 { logWritesFailed += 1 }
        case .logDirReadOnly:
            let mount = try #require(mount)
            let seen = satellite.records.count
            try await mount.setWritable(false)
            kill(satellite.pid, SIGHUP)
            try await satellite.until("a rotation the directory refuses") {
                satellite.records[seen...].contains { ($0["msg"] as? String)?.hasPrefix("cannot rotate log") == true }
            }
            try await mount.setWritable(true)
            let size = fileSize(dataDir + "/log/api.log")
            try await satellite.until("rotation once the directory is writable again") { fileSize(dataDir + "/log/api.log") < size }
        case .databaseLocked:
            let locker = try DatabaseLocker(database: dataDir + "/satellite.db", seconds: Double(Self.lockHeld.components.seconds) + Double(Self.lockHeld.components.attoseconds) / 1e18)
            try await locker.untilLocked()
            try await locker.untilReleased()
            try await satellite.until("a request refused while the database was locked") { load.snapshot.lockTimeouts > before.lockTimeouts }
        }
        rounds[fault, default: 0] += 1
        _ = try await untilReady("\(fault.rawValue) of \(victim)")
        if let exitRecord {
            // From the launcher's own log: the exit it saw, to the replacement's READY.
            let records = satellite.records
            let ready = try #require(records[exitRecord...].first { $0["msg"] as? String == "ready" && $0["process"] as? String == victim })
            let elapsed = Self.milliseconds(ready) - Self.milliseconds(records[exitRecord])
            let recovery = Duration.milliseconds(elapsed < 0 ? elapsed + 86_400_000 : elapsed)
            recoveries[fault, default: []].append(recovery)
            // A process that crashes again soon after its last restart waits out a growing backoff
            // (the restart policy at work, not slowness); the summary shows recovery without it too.
            let restarting = records[exitRecord...].first { $0["msg"] as? String == "restarting" && $0["process"] as? String == victim }
            childRecoveries.append((recovery, .milliseconds(Int(restarting?["delay_ms"] as? String ?? "") ?? 0)))
        } else if let launcherKilledAt {
            // As systemd would see it: from the kill to every process of a new launch ready.
            recoveries[fault, default: []].append(.now - launcherKilledAt)
        }
        #expect(satellite.process.isRunning, "the launcher died after \(fault.rawValue)")
        if !fault.restartsSomething {
            // Nothing was killed, so nothing may have been restarted: a peer waiting on a locked
            // database or a full disk is not hung.
            #expect(try await restartCounts() == restartsBefore, "\(fault.rawValue) made the launcher restart a process")
        }
        try await satellite.until("acknowledged check-ins after \(fault.rawValue)") { load.snapshot.acknowledgedCheckIns > before.acknowledgedCheckIns + 5 }
        if fault == .launcherKill { descriptorBaseline = openDescriptors(of: satellite.pid) }
        try await checkLauncherHoldsNothingExtra(after: fault)
        verifyLogLines()
    }

    /// The running process of `victim`, named by pid and start time, so that no signal of the
    /// fault reaches another process that took the pid over once the victim was gone.
    private func running(_ victim: String) throws -> ProcessIdentity {
        try #require(satellite.pids(of: victim).last.flatMap(ProcessIdentity.init(pid:)), "no running \(victim) in the launcher's log")
    }

    /// Waits until the launcher logs that `pid` of `name` exited, and keeps its exit code.
    /// - Returns: the index of the exit among the launcher's records.
    private func untilExited(_ name: String, pid: Int32) async throws -> Int {
        var found = 0
        try await satellite.until("\(name) (\(pid)) to exit") {
            let records = satellite.records
            let spawned = records.lastIndex { $0["msg"] as? String == "spawned" && $0["pid"] as? String == String(pid) }
            guard let spawned, let exit = records[(spawned + 1)...].firstIndex(where: { $0["msg"] as? String == "exited" && $0["process"] as? String == name }) else { return false }
            found = exit
            return true
        }
        let exit = satellite.records[found]
        let code = (exit["code"] as? String).map { "code \($0)" } ?? (exit["signal"] as? String).map { "signal \($0)" } ?? "?"
        exitCodes[code, default: 0] += 1
        return found
    }

    /// Milliseconds since midnight (UTC) of a launcher record's timestamp, `...THH:MM:SS.mmmZ`.
    static func milliseconds(_ record: [String: Any]) -> Int {
        guard let stamp = record["ts"] as? String, let time = stamp.split(separator: "T").last else { return 0 }
        let parts = time.dropLast().split(separator: ":")
        guard parts.count == 3, let hours = Int(parts[0]), let minutes = Int(parts[1]), let seconds = Double(parts[2]) else { return 0 }
        return (hours * 60 + minutes) * 60_000 + Int((seconds * 1000).rounded())
    }

    private func inode(_ path: String) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
    }

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    // MARK: Checks

    /// Waits until `status --json` shows every process ready; returns how long that took.
    func untilReady(_ what: String) async throws -> Duration {
        let start = ContinuousClock.now
        let deadline = start + .seconds(30)
        while ContinuousClock.now < deadline {
            if let processes = try await status(), processes.allSatisfy({ $0["name"] as? String == "migration" || $0["state"] as? String == "ready" }) {
                return ContinuousClock.now - start
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let said = String(satellite.standardErrorText.suffix(2000))
        Issue.record(
            "not every process was ready again 30 s after \(what); last status: \(lastStatus); launcher running: \(satellite.process.isRunning); launcher stderr: \(said); launcher log:\n\(satellite.logText().suffix(4000))"
        )
        throw CancellationError()
    }

    /// The last `status` answer, for the message when a wait fails.
    private var lastStatus = ""

    private func status() async throws -> [[String: Any]]? {
        let status = try await SatelliteProcess.run(["status", "--json", "--data-dir", dataDir])
        lastStatus = "exit \(status.status), stdout \(status.stdout.prefix(2000)), stderr \(status.stderr.prefix(500))"
        guard status.status == 0, let document = try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any] else { return nil }
        return document["processes"] as? [[String: Any]]
    }

    private func restartCounts() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for process in try await status() ?? [] {
            counts[process["name"] as? String ?? "?"] = process["restarts"] as? Int ?? -1
        }
        return counts
    }

    /// The launcher holds as many descriptors as when it was first ready, and no zombie child.
    private func checkLauncherHoldsNothingExtra(after fault: Fault) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        var held = openDescriptors(of: satellite.pid)
        while held != descriptorBaseline, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            held = openDescriptors(of: satellite.pid)
        }
        #expect(held == descriptorBaseline, "the launcher holds \(held) descriptors after \(fault.rawValue), \(descriptorBaseline) before")
        #expect(zombies(of: satellite.pid).isEmpty, "zombies after \(fault.rawValue)")
    }

    /// Every request answered more than a second ago (time enough for the launcher to have read
    /// and written its line) is in the API's log, unless it was in flight (from its sending to
    /// its answer) during an exempt window: the client may read an answer long after the API wrote
    /// its line. A line not found is looked for once more at the next check before it counts as
    /// missing.
    func verifyLogLines(final: Bool = false) {
        let settled = ContinuousClock.now - .seconds(1)
        let logged = loggedRequestIDs(in: dataDir + "/log")
        var waiting: [FaultLoad.Answered] = []
        var suspects = Set(missingSuspects)
        missingSuspects = []
        for answered in unverified + load.takeAnswered() {
            if exempt.contains(where: { $0.from <= answered.at && answered.sent <= $0.to }) {
                exemptLines += 1
            } else if logged.contains(answered.requestID) {
                verifiedLines += 1
                suspects.remove(answered.requestID)
            } else if !final && answered.at > settled {
                waiting.append(answered)
            } else if final || suspects.contains(answered.requestID) {
                missingLines.append(answered.requestID)
            } else {
                missingSuspects.append(answered.requestID)
                waiting.append(answered)
            }
        }
        unverified = waiting
    }

    private var missingSuspects: [String] = []

    // MARK: End

    /// Stops the load and the launcher, then checks what the whole run must leave behind.
    func finish() async throws {
        load.stop()
        try await Task.sleep(for: .seconds(1))
        verifyLogLines(final: true)
        #expect(missingLines.isEmpty, "\(missingLines.count) answered requests have no line in the API's log: \(missingLines.prefix(10))")
        #expect(gluedLogLines(in: dataDir + "/log").isEmpty, "log records run together: \(gluedLogLines(in: dataDir + "/log").prefix(3))")
        #expect(zombies(of: satellite.pid).isEmpty)
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
        #expect(satellite.count("spawned") >= 4, "the launcher logged fewer spawns than processes")
        // Every launcher and all it spawned work in the run's directory; their pids may be
        // anybody's by now. The guard of the last launch may take a moment to see its end.
        let deadline = ContinuousClock.now + .seconds(5)
        var left = processes(workingIn: satellite.directory)
        while !left.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            left = processes(workingIn: satellite.directory)
        }
        #expect(left.isEmpty, "processes of the run outlived it: \(left)")

        let database = try SQLiteDatabase(path: dataDir + "/satellite.db", busyTimeout: .seconds(5))
        do {
            var lost = 0
            for id in load.acknowledgedCheckIns where try await database.node(id: Data(hex: id)) == nil { lost += 1 }
            #expect(lost == 0, "\(lost) acknowledged check-ins were lost")
            let project = try #require(try await database.project(named: "load"))
            for key in load.acknowledgedObjects {
                let stored = try await database.object(project: project.id, bucket: "load", key: key, version: nil, positions: 0..<10_000)
                #expect(stored?.segments.first?.pieces.count == 4, "acknowledged object \(key) is not readable whole")
            }
            #expect(load.acknowledgedObjects.count > 5)
            #expect(try await database.integrityProblems().isEmpty)
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
    }

    /// Faults by kind, recovery times, requests and what was verified.
    var summary: String {
        func milliseconds(_ duration: Duration) -> Double { Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15 }
        func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        let kinds = rounds.keys.sorted().map { kind -> String in
            let times = (recoveries[kind] ?? []).map(milliseconds).sorted()
            guard !times.isEmpty else { return "\(kind.rawValue) x\(rounds[kind]!): nothing restarted" }
            return String(format: "%@ x%d: median %.0f ms, p99 %.0f ms, max %.0f ms", kind.rawValue, rounds[kind]!, percentile(times, 0.5), percentile(times, 0.99), times.last!)
        }
        func distribution(_ values: [Double]) -> String {
            let sorted = values.sorted()
            return sorted.isEmpty ? "none" : String(format: "%d: median %.0f ms, p99 %.0f ms, max %.0f ms", sorted.count, percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.last!)
        }
        let children = childRecoveries.map { milliseconds($0.total) }
        let withoutBackoff = childRecoveries.map { max(0, milliseconds($0.total) - milliseconds($0.backoff)) }
        let overall = "children \(distribution(children)); the same without the backoff the restart policy chose \(distribution(withoutBackoff)); "
            + "the launcher \(distribution((recoveries[.launcherKill] ?? []).map(milliseconds)))"
        let counts = load.snapshot
        let exits = exitCodes.keys.sorted().map { "\($0) x\(exitCodes[$0]!)" }.joined(separator: ", ")
        return """
            faults: \(rounds.values.reduce(0, +)) (\(kinds.joined(separator: "; ")))
            recovery (a child: its exit to its replacement's READY, in the launcher's log; the launcher: kill to all ready after a new launch):
              \(overall)
            children's exits seen: \(exits); crash reports found in the log of the crashed peer \(crashReportsFound) (the rest were rotated away before the look); crashes stopped as hung before their report was written: \(crashesStoppedAsHung)
            requests answered \(counts.answered), failed (no answer or 5xx) \(counts.failed), of them database-locked 503 \(counts.lockTimeouts)
            acknowledged and verified in the database: check-ins \(counts.acknowledgedCheckIns), objects \(counts.acknowledgedObjects); lost 0
            log disk full: the API's log writes failed and resumed in \(logWritesFailed) of \(rounds[.logDiskFull] ?? 0) rounds (in the others rotation freed enough)
            log lines verified \(verifiedLines), not checkable \(exemptLines) (log disk full, or unread by a killed launcher), missing \(missingLines.count)
            """
    }
}

extension Data {
    /// Bytes from lowercase hexadecimal digits.
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        self.init(bytes)
    }
}

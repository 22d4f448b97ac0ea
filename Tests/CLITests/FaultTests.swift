import Foundation
import SatelliteDB
import Testing

/// Check-ins from one thread, each a new node, and every fifth round an object stored
/// (begin, commit its segment, commit), remembering every write the API acknowledged.
final class CheckInLoad: @unchecked Sendable {
    let port: Int
    let key: String
    private let lock = NSLock()
    private var acknowledged: [String] = []
    private var objects: [String] = []
    private var failures = 0
    private var index = 0
    private let loop = BackgroundLoop()

    init(port: Int, key: String) {
        self.port = port
        self.key = key
    }

    var counts: (acknowledged: [String], failures: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (acknowledged, failures)
    }

    var committedObjects: [String] {
        lock.lock()
        defer { lock.unlock() }
        return objects
    }

    /// One request; the answer's status and JSON body.
    private func call(_ method: String, _ path: String, _ body: String?) -> (Int, [String: Any]) {
        let payload = body ?? ""
        let request = "\(method) \(path) HTTP/1.1\r\nHost: s\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)"
        let answer = rawTCP(port, Array(request.utf8))
        let status = Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0
        let json = answer.range(of: "\r\n\r\n").flatMap { try? JSONSerialization.jsonObject(with: Data(answer[$0.upperBound...].utf8)) as? [String: Any] } ?? [:]
        return (status, json)
    }

    /// Stores one object; its key when the commit was acknowledged.
    private func storeObject(_ index: Int) -> String? {
        let key = "fault/\(index)"
        let (begun, offer) = call("POST", "/v1/buckets/load/objects", #"{"key":"\#(key)","segment_count":1}"#)
        guard begun == 201, let stream = offer["stream_id"] as? String,
            let nodes = (offer["segments"] as? [[String: Any]])?.first?["nodes"] as? [[String: Any]], nodes.count >= 4
        else { return nil }
        let pieces = nodes.prefix(4).enumerated().map { #"{"number":\#($0.offset),"node_id":"\#($0.element["node_id"] as? String ?? "")"}"# }
        guard call("POST", "/v1/streams/\(stream)/segments", #"{"position":0,"encrypted_size":100,"pieces":[\#(pieces.joined(separator: ","))]}"#).0 == 204 else { return nil }
        return call("POST", "/v1/streams/\(stream)/commit", nil).0 == 200 ? key : nil
    }

    func start() { loop.start { self.once() } }
    func stop() { loop.stop() }

    private func once() {
        index += 1
        let index = self.index
        let id = String(format: "%064x", index)
        let body = #"{"node_id":"\#(id)","address":"10.\#(index % 256).\#(index / 256 % 256).1:28967","free_disk":1099511627776,"version":"1"}"#
        let request = "POST /v1/contact/checkin HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let answer = rawTCP(port, Array(request.utf8))
        let stored = index % 5 == 0 && index > 20 ? storeObject(index) : nil
        lock.lock()
        if answer.hasPrefix("HTTP/1.1 200") { acknowledged.append(id) } else { failures += 1 }
        if let stored { objects.append(stored) }
        lock.unlock()
        if !answer.hasPrefix("HTTP/1.1 200") { usleep(20_000) }
    }
}

/// The short fault-injection run: under a steady stream of check-ins, children are killed,
/// frozen and crashed, and the launcher itself is killed and launched again. After each fault
/// every process is back to ready; at the end every acknowledged check-in is in the database,
/// and nothing is left behind.
@Suite(.timeLimit(.minutes(3)))
struct FaultTests {
    @Test func theSatelliteRecoversFromEveryFaultAndLosesNoAcknowledgedWrite() async throws {
        let port = try freePort()
        let flags = [
            "--api.address=127.0.0.1:\(port)", "--supervisor.heartbeat-interval=100ms", "--supervisor.heartbeat-timeout=1s",
            "--supervisor.stop-timeout=1s", "--supervisor.restart-backoff-initial=50ms", "--supervisor.restart-limit=1000",
            "--contact.checkin-interval=0s", "--metainfo.redundancy=2/3/4/5",
        ]
        let first = try LaunchedSatellite(flags: flags)
        // `first` owns the directory and removes it when the test ends; relaunches reuse it.
        var satellite = first
        let dataDir = satellite.dataDir
        var launcherPids = [first.pid]
        func allReady(_ satellite: LaunchedSatellite) async throws -> Bool {
            let status = try await SatelliteProcess.run(["status", "--json", "--data-dir", satellite.dataDir])
            guard status.status == 0, let document = try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any] else { return false }
            let processes = document["processes"] as? [[String: Any]] ?? []
            return processes.allSatisfy { $0["name"] as? String == "migration" || $0["state"] as? String == "ready" }
        }
        func waitUntilReady(_ what: String) async throws -> Duration {
            let start = ContinuousClock.now
            let deadline = start + .seconds(30)
            while ContinuousClock.now < deadline {
                if try await allReady(satellite) { return ContinuousClock.now - start }
                try await Task.sleep(for: .milliseconds(20))
            }
            Issue.record("not every process was ready again 30 s after \(what)")
            throw CancellationError()
        }
        _ = try await waitUntilReady("the launch")
        #expect(try await SatelliteProcess.run(["admin", "create-project", "load", "--data-dir", dataDir]).status == 0)
        let key = try await SatelliteProcess.run(["admin", "create-api-key", "load", "--data-dir", dataDir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rawTCP(port, Array("POST /v1/buckets HTTP/1.1\r\nHost: s\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"name\":\"load\"}".utf8)).hasPrefix("HTTP/1.1 201"))
        let load = CheckInLoad(port: port, key: key)
        load.start()
        var recoveries: [String: [Duration]] = [:]
        var generator = SystemRandomNumberGenerator()
        let faults = ["SIGKILL", "SIGSTOP", "SIGABRT", "SIGSEGV", "launcher SIGKILL"]
        for round in 0..<10 {
            let fault = round < faults.count ? faults[round] : faults.randomElement(using: &generator)!
            let victim = ["core", "api", "repairer"].randomElement(using: &generator)!
            let served = load.counts.acknowledged.count
            switch fault {
            case "launcher SIGKILL":
                kill(satellite.pid, SIGKILL)
                _ = try await satellite.exitStatus()
                satellite = try LaunchedSatellite(reusing: dataDir, flags: flags)
                launcherPids.append(satellite.pid)
            case "SIGSTOP":
                let pid = try #require(satellite.pids(of: victim).last)
                kill(pid, SIGSTOP)
                try await satellite.until("\(victim) found hung") { satellite.records.contains { $0["msg"] as? String == "hung" && $0["pid"] as? String == String(pid) } }
                kill(pid, SIGCONT)
            default:
                let pid = try #require(satellite.pids(of: victim).last)
                kill(pid, fault == "SIGKILL" ? SIGKILL : fault == "SIGABRT" ? SIGABRT : SIGSEGV)
            }
            try await Task.sleep(for: .milliseconds(50))
            recoveries[fault, default: []].append(try await waitUntilReady("\(fault) of \(victim)"))
            #expect(satellite.process.isRunning, "the launcher died after \(fault)")
            // The API serves again: acknowledged check-ins keep coming.
            try await satellite.until("check-ins after \(fault)") { load.counts.acknowledged.count > served + 5 }
        }
        load.stop()
        let (acknowledged, failures) = load.counts
        #expect(zombies(of: satellite.pid).isEmpty)
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
        // No orphan: every launcher and every process any of them spawned is gone.
        let spawned = satellite.records.compactMap { $0["msg"] as? String == "spawned" ? ($0["pid"] as? String).flatMap(Int32.init) : nil }
        #expect(spawned.count > 10)
        for pid in launcherPids + spawned { #expect(processIsGone(pid), "process \(pid) outlived the run") }

        let database = try SatelliteDatabase(path: dataDir + "/satellite.db", busyTimeout: .seconds(5))
        defer { try? database.close() }
        var missing = 0
        for id in acknowledged {
            var bytes = Data()
            var index = id.startIndex
            while index < id.endIndex {
                let next = id.index(index, offsetBy: 2)
                bytes.append(UInt8(id[index..<next], radix: 16)!)
                index = next
            }
            if try database.node(id: bytes) == nil { missing += 1 }
        }
        #expect(missing == 0, "\(missing) acknowledged check-ins were lost")
        let project = try #require(try database.project(named: "load"))
        let objects = load.committedObjects
        #expect(objects.count > 5)
        for key in objects {
            let stored = try database.object(project: project.id, bucket: "load", key: key)
            #expect(stored?.1.first?.pieces.count == 4, "acknowledged object \(key) is not readable whole")
        }
        #expect(try database.integrityProblems().isEmpty)
        #expect(acknowledged.count > 50)
        let summary = recoveries.keys.sorted().map { kind -> String in
            let times = recoveries[kind]!.map { Double($0.wholeMilliseconds) }.sorted()
            return "\(kind) x\(times.count): median \(Int(times[times.count / 2])) ms, max \(Int(times.last!)) ms"
        }
        print("fault summary: \(summary.joined(separator: "; ")); check-ins acknowledged and verified \(acknowledged.count), objects \(load.committedObjects.count), failed while down \(failures)")
    }
}

extension Duration {
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

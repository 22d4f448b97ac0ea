import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The loop's clients: the control socket's requests (`status`, `restart`, `stop`, `log-level`)
/// and the debug address's (`/metrics`, `/status`, the operator page and its restarts), each
/// read without blocking and answered from the loop's own state.
extension SupervisorLoop {
    // MARK: Debug address

    func acceptDebug(at now: ContinuousClock.Instant) {
        guard let debugEndpoint else { return }
        for fd in debugEndpoint.accept(at: now) {
            if (try? poll.add(fd, token: Self.token(.debugClient, Int(fd)))) == nil {
                debugEndpoint.answer(fd, status: "503 Service Unavailable", body: "busy\n")
            }
        }
    }

    func serveDebug(_ fd: Int32, at now: ContinuousClock.Instant) {
        guard let debugEndpoint, let parsed = debugEndpoint.read(fd) else { return }
        poll.remove(fd)
        guard case .request(let request) = parsed else {
            debugEndpoint.answer(fd, status: "400 Bad Request", body: "malformed request\n")
            return
        }
        let routes = "GET /, /status, /metrics, /log?process=NAME; POST /restart\n"
        switch (request.method, request.path) {
        case ("GET", "/metrics"):
            debugEndpoint.answer(
                fd, status: "200 OK", body: MetricsText.render(machines: machines, launchReady: phase.hasBeenReady, now: now),
                contentType: "text/plain; version=0.0.4"
            )
        case ("GET", "/status"):
            debugEndpoint.answer(fd, status: "200 OK", body: statusDocument(at: now) + "\n", contentType: "application/json")
        case ("GET", "/"):
            let page = OperatorPage.render(
                machines: machines, specs: children.map(\.spec),
                launcher: .init(pid: getpid(), phase: phase.name, uptime: now - launchedAt, version: supervisor.options.version),
                token: supervisor.options.debugReadOnly ? nil : actionToken, now: now
            )
            // No script may run and no other site may frame it, so a click is the operator's.
            debugEndpoint.answer(fd, status: "200 OK", body: page, contentType: "text/html; charset=utf-8", headers: [
                ("Cache-Control", "no-store"), ("X-Frame-Options", "DENY"),
                ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
            ])
        case ("GET", "/log"):
            guard let name = request.query["process"], let index = index(ofProcess: name) else {
                debugEndpoint.answer(fd, status: "404 Not Found", body: "no process is named \"\(request.query["process"] ?? "")\"\n")
                return
            }
            guard let path = children[index].spec.logPath else {
                debugEndpoint.answer(fd, status: "404 Not Found", body: "process \(name) logs to the journal, not to a file\n")
                return
            }
            debugEndpoint.answer(fd, status: "200 OK", body: Self.tail(of: path, bytes: Self.logTailBytes), headers: [("Cache-Control", "no-store")])
        case ("POST", "/restart"):
            let (status, body) = restartFromPage(request, at: now)
            if status.hasPrefix("303") {
                debugEndpoint.answer(fd, status: status, body: body, headers: [("Location", "/")])
            } else {
                debugEndpoint.answer(fd, status: status, body: body)
            }
        case (_, "/metrics"), (_, "/status"), (_, "/"), (_, "/log"), (_, "/restart"):
            debugEndpoint.answer(fd, status: "405 Method Not Allowed", body: routes)
        default:
            debugEndpoint.answer(fd, status: "404 Not Found", body: routes)
        }
    }

    /// How much of a process's log `/log` shows: its last 64 KiB, from the first whole line.
    static let logTailBytes = 64 * 1024

    /// The page's restart: refused when the launcher is read-only or the token is not the
    /// page's; else a process by name, or every process with a tag, as the control socket's
    /// `restart` does. A status line and a body; 303 back to the page when it was done.
    private func restartFromPage(_ request: DebugRequest, at now: ContinuousClock.Instant) -> (String, String) {
        if supervisor.options.debugReadOnly { return ("403 Forbidden", "this launcher's page is read-only (supervisor.debug-read-only)\n") }
        guard let token = request.form["token"], Self.sameBytes(token, actionToken) else {
            return ("403 Forbidden", "restart needs the token of the launcher's page; open / and use its buttons\n")
        }
        let indexes: [Int]
        if let name = request.form["process"] {
            if index(ofProcess: name) == nil, !self.indexes(ofInstancesOf: name).isEmpty {
                guard phase.acceptsStarts else { return ("409 Conflict", "the launcher is stopping\n") }
                let answer = roll(name, self.indexes(ofInstancesOf: name), at: now)
                return answer.hasPrefix(#"{"ok":true"#) ? ("303 See Other", "restarting one at a time\n") : ("409 Conflict", answer + "\n")
            }
            guard let index = index(ofProcess: name) else { return ("404 Not Found", "no process is named \"\(name)\"\n") }
            indexes = [index]
        } else if let tag = request.form["tag"] {
            indexes = self.indexes(taggedWith: tag)
            guard !indexes.isEmpty else { return ("404 Not Found", "no process has the tag \"\(tag)\"\n") }
        } else {
            return ("400 Bad Request", "restart needs a process or a tag\n")
        }
        guard phase.acceptsStarts else { return ("409 Conflict", "the launcher is stopping\n") }
        _ = restart(indexes, at: now)
        return ("303 See Other", "restarting\n")
    }

    /// 128 random bits in hex, from the system's generator (getrandom on Linux, which the
    /// standard library documents as cryptographically secure).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return (0..<32).map { _ in String(digits[Int(generator.next() & 15)]) }.joined()
    }

    /// Compares in time independent of where they differ, as a token must be.
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The last `bytes` of the file at `path`, from the first whole line; a line saying why when
    /// it cannot be read.
    static func tail(of path: String, bytes: Int) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))\n" }
        defer { close(fd) }
        let size = Int(lseek(fd, 0, SEEK_END))
        let start = max(0, size - bytes)
        var buffer = [UInt8](repeating: 0, count: size - start)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        guard count >= 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))\n" }
        var text = buffer[..<count]
        if start > 0, let newline = text.firstIndex(of: 10) { text = text[(newline + 1)...] }
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: Control socket

    /// Answers and closes the connections whose request did not arrive in time.
    func closeSilentClients(at now: ContinuousClock.Instant) {
        for fd in control?.clients.expired(at: now) ?? [] {
            poll.remove(fd)
            control?.answer(fd, JSONText.error("no request within \(ControlChannel.requestTimeout.components.seconds) s; send one line, as status"))
        }
        for fd in debugEndpoint?.clients.expired(at: now) ?? [] {
            poll.remove(fd)
            debugEndpoint?.answer(fd, status: "408 Request Timeout", body: "no request in time\n")
        }
    }

    func acceptControl(at now: ContinuousClock.Instant) {
        guard let control else { return }
        for fd in control.accept(at: now) {
            do {
                try poll.add(fd, token: Self.token(.client, Int(fd)))
            } catch {
                control.answer(fd, JSONText.error("the launcher is too busy to listen"))
            }
        }
    }

    func serveControl(_ fd: Int32, hangup: Bool, at now: ContinuousClock.Instant) {
        guard let control else { return }
        let answer: String
        switch control.read(fd, hangup: hangup) {
        case .waiting:
            return
        case .refused(let why):
            answer = JSONText.error(why)
        case .request(let line):
            do {
                let request = try ControlRequest(line: line)
                if request == .upgrade {
                    // Answered when the upgrade ends: by the new launcher, or here if it fails.
                    poll.remove(fd)
                    guard let refusal = beginUpgrade(requester: fd, at: now) else {
                        control.release(fd)
                        return
                    }
                    control.answer(fd, JSONText.error(refusal))
                    return
                }
                answer = perform(request, at: now)
            } catch {
                answer = JSONText.error(error.message)
            }
        }
        poll.remove(fd)
        control.answer(fd, answer)
    }

    private func perform(_ request: ControlRequest, at now: ContinuousClock.Instant) -> String {
        switch request {
        case .status:
            return statusDocument(at: now)
        case .upgrade:
            return JSONText.error("upgrade is answered when it ends")
        case .stop:
            requestStop(at: now)
            return JSONText.object([("ok", "true")])
        case .restart(let name):
            if let index = index(ofProcess: name) { return restart([index], at: now) }
            let instances = indexes(ofInstancesOf: name)
            guard !instances.isEmpty else { return JSONText.error("no process is named \"\(name)\"; see satellite status") }
            return roll(name, instances, at: now)
        case .restartTagged(let tag):
            let indexes = indexes(taggedWith: tag)
            guard !indexes.isEmpty else { return JSONText.error("no process has the tag \"\(tag)\"") }
            return restart(indexes, at: now)
        case .logLevel(let level, let process):
            guard let change = supervisor.options.changeLogLevel else { return JSONText.error("this supervisor cannot change log levels") }
            guard let process, process != "launcher" else {
                if let problem = change(level, nil, nil) { return JSONText.error(problem) }
                return JSONText.object([("ok", "true")])
            }
            // An entry with instances: each of them.
            let targets = index(ofProcess: process).map { [$0] } ?? indexes(ofInstancesOf: process)
            guard !targets.isEmpty else { return JSONText.error("no process is named \"\(process)\"; see satellite status") }
            for index in targets {
                guard let run = machines[index].state.run else { return JSONText.error("process \"\(machines[index].name)\" is not running") }
                if let problem = change(level, machines[index].name, run.pid) { return JSONText.error(problem) }
            }
            return JSONText.object([("ok", "true")])
        }
    }

    func index(ofProcess name: String) -> Int? {
        machines.firstIndex { $0.name == name }
    }

    /// The instances of entry `name` (`name@1` ...), if it has more than one.
    func indexes(ofInstancesOf name: String) -> [Int] {
        children.indices.filter { children[$0].spec.instanceOf == name }
    }

    func indexes(taggedWith tag: String) -> [Int] {
        children.indices.filter { children[$0].spec.tags.contains(tag) }
    }

    func statusDocument(at now: ContinuousClock.Instant) -> String {
        StatusDocument.render(machines: machines, specs: children.map(\.spec), phase: phase, launchedAt: launchedAt, version: supervisor.options.version, now: now)
    }

    /// Replaces an entry's instances one at a time; answers at once.
    private func roll(_ name: String, _ indexes: [Int], at now: ContinuousClock.Instant) -> String {
        guard phase.acceptsStarts else { return JSONText.error("the launcher is stopping") }
        guard !rolls.contains(where: { $0.name == name }) else {
            return JSONText.error("the instances of \(name) are already being replaced one at a time")
        }
        log.info("rolling restart requested", metadata: ["process": .string(name), "instances": .stringConvertible(indexes.count)])
        rolls.append(RollingRestart(name: name, processes: indexes))
        advanceRolls(at: now)
        let names = indexes.map { JSONText.string(machines[$0].name) }.joined(separator: ",")
        return JSONText.object([("ok", "true"), ("restarting", "[\(names)]"), ("one_at_a_time", "true")])
    }

    /// Moves each rolling restart on: the next instance is restarted once the one before is
    /// running again and ready. A stopping launcher drops them.
    func advanceRolls(at now: ContinuousClock.Instant) {
        guard phase.acceptsStarts else {
            rolls.removeAll()
            return
        }
        var index = 0
        while index < rolls.count {
            switch rolls[index].next(isBack: { process in
                guard !restartWhenDown.contains(process), case .ready = machines[process].state else { return false }
                return true
            }) {
            case .restart(let process):
                _ = restart([process], at: now)
            case .wait:
                index += 1
            case .finished:
                log.info("rolling restart done", metadata: ["process": .string(rolls[index].name)])
                rolls.remove(at: index)
            }
        }
    }

    private func restart(_ indexes: [Int], at now: ContinuousClock.Instant) -> String {
        guard phase.acceptsStarts else { return JSONText.error("the launcher is stopping") }
        for index in indexes {
            log.info("restart requested", metadata: ["process": .string(machines[index].name)])
            restartWhenDown.insert(index)
            if machines[index].isAlive {
                apply(machines[index].handle(.stop, at: now), to: index, at: now)
            }
        }
        let names = indexes.map { JSONText.string(machines[$0].name) }.joined(separator: ",")
        return JSONText.object([("ok", "true"), ("restarting", "[\(names)]")])
    }
}

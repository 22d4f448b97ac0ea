import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The loop's clients: the control socket's requests (`status`, `restart`, `stop`, `log-level`)
/// and `/metrics`, each read without blocking and answered from the loop's own state.
extension SupervisorLoop {
    // MARK: Metrics

    func acceptMetrics(at now: ContinuousClock.Instant) {
        guard let metricsEndpoint else { return }
        for fd in metricsEndpoint.accept(at: now) {
            if (try? poll.add(fd, token: Self.token(.metricsClient, Int(fd)))) == nil {
                metricsEndpoint.answer(fd, status: "503 Service Unavailable", body: "busy\n")
            }
        }
    }

    func serveMetrics(_ fd: Int32, at now: ContinuousClock.Instant) {
        guard let metricsEndpoint, let request = metricsEndpoint.read(fd) else { return }
        poll.remove(fd)
        switch request {
        case let (method, path)? where method == "GET" && (path == "/metrics" || path.hasPrefix("/metrics?")):
            metricsEndpoint.answer(fd, status: "200 OK", body: MetricsText.render(machines: machines, launchReady: phase.hasBeenReady, now: now))
        case let (method, _)? where method != "GET":
            metricsEndpoint.answer(fd, status: "405 Method Not Allowed", body: "only GET /metrics\n")
        case .some:
            metricsEndpoint.answer(fd, status: "404 Not Found", body: "only GET /metrics\n")
        case nil:
            metricsEndpoint.answer(fd, status: "400 Bad Request", body: "malformed request\n")
        }
    }

    // MARK: Control socket

    /// Answers and closes the connections whose request did not arrive in time.
    func closeSilentClients(at now: ContinuousClock.Instant) {
        for fd in control?.clients.expired(at: now) ?? [] {
            poll.remove(fd)
            control?.answer(fd, JSONText.error("no request within \(ControlChannel.requestTimeout.components.seconds) s; send one line, as status"))
        }
        for fd in metricsEndpoint?.clients.expired(at: now) ?? [] {
            poll.remove(fd)
            metricsEndpoint?.answer(fd, status: "408 Request Timeout", body: "no request in time\n")
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
                answer = perform(try ControlRequest(line: line), at: now)
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
            return StatusDocument.render(machines: machines, tags: children.map(\.spec.tags), phase: phase, launchedAt: launchedAt, now: now)
        case .stop:
            requestStop(at: now)
            return JSONText.object([("ok", "true")])
        case .restart(let name):
            guard let index = machines.firstIndex(where: { $0.name == name }) else {
                return JSONText.error("no process is named \"\(name)\"; see satellite status")
            }
            return restart([index], at: now)
        case .restartTagged(let tag):
            let indexes = children.indices.filter { children[$0].spec.tags.contains(tag) }
            guard !indexes.isEmpty else { return JSONText.error("no process has the tag \"\(tag)\"") }
            return restart(indexes, at: now)
        case .logLevel(let level, let process):
            guard let change = supervisor.options.changeLogLevel else { return JSONText.error("this supervisor cannot change log levels") }
            var pid: Int32?
            if let process, process != "launcher" {
                guard let machine = machines.first(where: { $0.name == process }) else {
                    return JSONText.error("no process is named \"\(process)\"; see satellite status")
                }
                guard let run = machine.state.run else { return JSONText.error("process \"\(process)\" is not running") }
                pid = run.pid
            }
            if let problem = change(level, process, pid) { return JSONText.error(problem) }
            return JSONText.object([("ok", "true")])
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

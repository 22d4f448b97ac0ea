import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The launcher's operator page at `supervisor.debug-address`: what it shows, its restarts
/// (only with the page's token, never when read-only), `/status` and `/log` beside it, and a
/// real browser (Debian's headless Chromium) loading it, a screenshot, and a click on restart.
@Suite(.timeLimit(.minutes(2)))
struct OperatorPageTests {
    static let processes = """
        processes:
          - {name: steady, exec: /bin/sh, args: ["-c", "echo steady says hello; exec sleep 1000"], tags: [workers]}
          - {name: other, exec: /bin/sleep, args: ["1000"], tags: [workers, spare]}
          - {name: beating, exec: /bin/sh, notify: true, args: ["-c", "echo READY=1 >&3; while :; do echo WATCHDOG=1 >&3; sleep 0.1; done"]}
        """

    static func launch(readOnly: Bool = false) async throws -> (LaunchedSatellite, Int) {
        let port = try freePort()
        var flags = ["--supervisor.debug-address=127.0.0.1:\(port)"]
        if readOnly { flags.append("--supervisor.debug-read-only=true") }
        let satellite = try LaunchedSatellite(config: processes, flags: flags)
        try await satellite.until("ready") { satellite.events.contains { $0.msg == "ready" && $0.process == "launcher" } }
        return (satellite, port)
    }

    /// One request; its status, headers and body. Redirects are not followed.
    static func request(_ port: Int, _ method: String, _ path: String, form: [String: String]? = nil) -> (status: Int, head: String, body: String) {
        let body = form.map { $0.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&") } ?? ""
        let text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let answer = rawTCP(port, Array(text.utf8))
        let parts = answer.components(separatedBy: "\r\n\r\n")
        let status = Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, parts.first ?? "", parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// The token in the page's forms.
    static func token(in page: String) -> String? {
        guard let range = page.range(of: #"name="token" value=""#) else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func thePageShowsEachProcessAndRestartsOnlyWithItsToken() async throws {
        let (satellite, port) = try await Self.launch()
        let page = Self.request(port, "GET", "/")
        #expect(page.status == 200)
        #expect(page.head.contains("Content-Type: text/html; charset=utf-8"))
        #expect(page.head.contains("Content-Security-Policy: default-src 'none'"))
        #expect(page.body.contains(#"<meta http-equiv="refresh""#), "the page refreshes itself")
        #expect(page.body.contains("version <code>0.1.0-dev</code>"))
        for name in ["steady", "other", "beating"] {
            let pid = try #require(satellite.pids(of: name).first)
            #expect(page.body.contains("<td>\(name)</td><td class=\"ready\">ready</td><td>\(pid)</td>"), "\(name)'s row with its state and pid:\n\(page.body)")
        }
        #expect(page.body.contains("workers, spare"))
        #expect(page.body.contains("restart workers") && page.body.contains("restart spare"), "a restart per tag")
        let token = try #require(Self.token(in: page.body))
        #expect(token.count == 32)

        // The JSON status and a log's tail beside it.
        let status = Self.request(port, "GET", "/status")
        #expect(status.status == 200 && status.head.contains("application/json"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(status.body.utf8)) as? [String: Any])
        #expect((document["processes"] as? [[String: Any]])?.map { $0["name"] as? String } == ["steady", "other", "beating"])
        // The launcher calls a program without notify ready once spawned: its first line may
        // still be on its way.
        try await satellite.until("steady's line in its log") { satellite.logText("steady").contains("steady says hello") }
        let log = Self.request(port, "GET", "/log?process=steady")
        #expect(log.status == 200 && log.body.contains("steady says hello"))
        #expect(Self.request(port, "GET", "/log?process=nobody").status == 404)
        #expect(Self.request(port, "DELETE", "/").status == 405)
        #expect(Self.request(port, "GET", "/restart").status == 405)

        // Without the page's token, or with another, nothing restarts.
        #expect(Self.request(port, "POST", "/restart", form: ["process": "steady"]).status == 403)
        #expect(Self.request(port, "POST", "/restart", form: ["process": "steady", "token": String(repeating: "0", count: 32)]).status == 403)
        #expect(Self.request(port, "POST", "/restart", form: ["process": "nobody", "token": token]).status == 404)
        #expect(satellite.count("spawned", of: "steady") == 1)

        let restarted = Self.request(port, "POST", "/restart", form: ["process": "steady", "token": token])
        #expect(restarted.status == 303 && restarted.head.contains("Location: /"))
        try await satellite.until("steady restarted from the page") { satellite.count("spawned", of: "steady") == 2 }
        #expect(satellite.count("spawned", of: "other") == 1)

        #expect(Self.request(port, "POST", "/restart", form: ["tag": "spare", "token": token]).status == 303)
        try await satellite.until("the tag's process restarted") { satellite.count("spawned", of: "other") == 2 }
        #expect(satellite.count("spawned", of: "steady") == 2, "a tag restarts only its own processes")
    }

    @Test func instancesShowTheirEntryAndRestartOneAtATimeFromThePage() async throws {
        let port = try freePort()
        let satellite = try LaunchedSatellite(config: """
            processes:
              - {name: pool, exec: /bin/sleep, args: ["1000"], instances: 2}
            """, flags: ["--supervisor.debug-address=127.0.0.1:\(port)"])
        try await satellite.until("ready") { satellite.count("ready", of: "launcher") == 1 }
        let page = Self.request(port, "GET", "/")
        for name in ["pool@1", "pool@2"] {
            let pid = try #require(satellite.pids(of: name).first)
            #expect(page.body.contains("<td>\(name)</td><td class=\"ready\">ready</td><td>\(pid)</td>"), "\(page.body)")
        }
        #expect(page.body.contains("<td>pool</td>"), "the instance-of column")
        #expect(page.body.contains("restart one instance at a time:") && page.body.contains(#"name="process" value="pool"><button type="submit">restart pool</button>"#))
        let token = try #require(Self.token(in: page.body))
        #expect(Self.request(port, "POST", "/restart", form: ["token": token, "process": "pool"]).status == 303)
        try await satellite.until("the roll") { satellite.count("rolling restart done", of: "pool") == 1 }
        #expect(satellite.count("spawned", of: "pool@1") == 2 && satellite.count("spawned", of: "pool@2") == 2)
        kill(satellite.pid, SIGTERM)
        #expect(try await satellite.exitStatus() == 0)
    }

    @Test func aReadOnlyPageOffersNoActionAndRefusesThem() async throws {
        let (satellite, port) = try await Self.launch(readOnly: true)
        let page = Self.request(port, "GET", "/")
        #expect(page.status == 200)
        #expect(page.body.contains("<td>steady</td>"))
        #expect(!page.body.contains("<form") && !page.body.contains("token"), "no action on a read-only page:\n\(page.body)")
        #expect(page.body.contains("read-only"))
        let refused = Self.request(port, "POST", "/restart", form: ["process": "steady", "token": "anything"])
        #expect(refused.status == 403 && refused.body.contains("read-only"))
        try await Task.sleep(for: .milliseconds(300))
        #expect(satellite.count("spawned", of: "steady") == 1)
    }

    static let chromium = "/usr/bin/chromium"
    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("browser/click.py").path

    @Test func aBrowserLoadsThePageAndAClickOnRestartRestartsTheProcess() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.chromium), "Debian's chromium is needed: scripts/bootstrap tests installs it")
        let (satellite, port) = try await Self.launch()
        let screenshot = satellite.directory.appendingPathComponent("page.png")
        let run = try await SatelliteProcess.run(
            [Self.driver, Self.chromium, "http://127.0.0.1:\(port)/", screenshot.path, #"form input[name="process"][value="steady"] ~ button"#],
            program: URL(fileURLWithPath: "/usr/bin/python3"), timeout: 60
        )
        try #require(run.status == 0, "the browser run failed: \(run.stderr)")
        let outcome = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(outcome["title"] as? String == "satellite launcher")
        #expect(outcome["after"] as? String == "http://127.0.0.1:\(port)/", "the restart leads back to the page")

        // A PNG of the window's size, with something drawn on it.
        let png = try Data(contentsOf: screenshot)
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 1200 && height == 800, "screenshot \(width)×\(height)")
        let blank = outcome["blank_png_bytes"] as? Int ?? 0
        #expect(blank > 0 && png.count > 2 * blank, "the page's screenshot (\(png.count) bytes) against the same window blank (\(blank))")
        if ProcessInfo.processInfo.environment["SATELLITE_TEST_KEEP"] != nil {
            let kept = URL(fileURLWithPath: "/tmp/operator-page.png")
            try? FileManager.default.removeItem(at: kept)
            try? FileManager.default.copyItem(at: screenshot, to: kept)
        }

        try await satellite.until("steady restarted by the click") { satellite.count("spawned", of: "steady") == 2 }
        #expect(satellite.count("spawned", of: "other") == 1)
    }
}

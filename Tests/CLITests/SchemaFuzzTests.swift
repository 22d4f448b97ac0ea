import Foundation
import Identity
import NodeProtocol
import Testing

/// schemathesis (from PyPI; `scripts/bootstrap` installs it in `.build-schemathesis`) against a
/// satellite launched as operators launch it, with every check: each operation of
/// `openapi.yaml`, a new one too, is fuzzed from the document, seeded and bounded
/// (`scripts/schemathesis.toml`). It must find nothing but the documented refusals.
@Suite(.timeLimit(.minutes(5)))
struct SchemaFuzzTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schemathesis = repository.appendingPathComponent(".build-schemathesis/bin/schemathesis")

    /// The operations `openapi.yaml` has.
    static func operationCount() -> Int {
        let document = (try? String(contentsOf: repository.appendingPathComponent("Sources/SatelliteAPI/openapi.yaml"), encoding: .utf8)) ?? ""
        return document.split(separator: "\n").filter { $0.contains("operationId:") }.count
    }

    @Test func schemathesisWithEveryCheckFindsNothingButTheDocumentedRefusals() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.schemathesis.path),
            "schemathesis is not installed at \(Self.schemathesis.path); run scripts/bootstrap"
        )
        let port = try freePort()
        let satellite = try LaunchedSatellite(flags: ["--api.address=127.0.0.1:\(port)", "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true", "--metainfo.redundancy=2/3/4/5"])
        defer { satellite.killAll() }
        let deadline = ContinuousClock.now + .seconds(30)
        while !rawTCP(port, Array("GET /health/ready HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 200"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await SatelliteProcess.run(["admin", "create-project", "fuzz", "--data-dir", satellite.dataDir]).status == 0)
        let key = try await SatelliteProcess.run(["admin", "create-api-key", "fuzz", "--data-dir", satellite.dataDir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Nodes to offer, so that begins get past 503 and reach the commits.
        for index in 0..<5 {
            let body = String(decoding: SignedCheckIn(identity: .generate(), address: "10.\(index).0.1:7777", freeDisk: 1_000_000_000_000, version: "1.0.0").json, as: UTF8.self)
            let request = "POST /v1/contact/checkin HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            #expect(rawTCP(port, Array(request.utf8)).hasPrefix("HTTP/1.1 200"))
        }

        let run = Process()
        run.executableURL = Self.schemathesis
        run.arguments = [
            "--no-color", "--config-file", Self.repository.appendingPathComponent("scripts/schemathesis.toml").path,
            "run", "http://127.0.0.1:\(port)/openapi.yaml", "--checks", "all", "-H", "Authorization: Bearer \(key)",
        ]
        run.environment = ["PATH": "/usr/bin:/bin", "HOME": satellite.directory.path]
        run.currentDirectoryURL = satellite.directory
        let output = Pipe()
        run.standardOutput = output
        run.standardError = output
        run.standardInput = FileHandle.nullDevice
        try run.run()
        let drained = PipeDrain(output)
        let runDeadline = ContinuousClock.now + .seconds(240)
        while run.isRunning, ContinuousClock.now < runDeadline { try await Task.sleep(for: .milliseconds(100)) }
        if run.isRunning {
            run.terminate()
            Issue.record("schemathesis did not finish within 240 s")
        }
        run.waitUntilExit()
        let text = String(decoding: await drained.data(within: .seconds(10)), as: UTF8.self)
        #expect(run.terminationStatus == 0, "schemathesis found failures:\n\(text.suffix(8000))")
        // Every operation of the document is fuzzed (schemathesis leaves out the document's own path).
        let selected = text.firstMatch(of: /Selected: (\d+)\/(\d+)/).map { (Int($0.1) ?? -1, Int($0.2) ?? -2) }
        let tested = text.firstMatch(of: /Tested: (\d+)/).flatMap { Int($0.1) }
        let operations = Self.operationCount()
        #expect(selected.map { $0.0 == $0.1 && $0.0 >= operations - 1 } == true && tested == selected?.0, "\(text.suffix(3000))")
    }
}

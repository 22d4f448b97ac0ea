import Foundation
import Logging
import StructuredLogging
import Testing

@Suite struct LogLineTests {
    private let time = timespec(tv_sec: 1_795_443_316, tv_nsec: 123_456_789)

    @Test func jsonLineHasTheDocumentedFieldsAndIsOneLine() throws {
        struct Failure: Error, CustomStringConvertible { var description: String { "disk \"full\"" } }
        let line = LogLine.render(
            format: .json, timestamp: time, level: .warning, process: "core", logger: "repair:checker",
            message: "scan\nfailed", metadata: ["segments": "12", "logger": "ignored", "nodes": .array(["a", "b"])],
            error: Failure()
        )
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["ts"] as? String == "2026-11-23T14:15:16.123Z")
        #expect(object["level"] as? String == "warning")
        #expect(object["process"] as? String == "core")
        #expect(object["logger"] as? String == "repair:checker")
        #expect(object["msg"] as? String == "scan\nfailed")
        #expect(object["segments"] as? String == "12")
        #expect(object["nodes"] as? [String] == ["a", "b"])
        #expect(object["error"] as? String == "disk \"full\"")
        #expect(line.hasPrefix(#"{"ts":"2026-11-23T14:15:16.123Z","level":"warning","process":"core","logger":"repair:checker","msg":"#))
    }

    @Test func processMetadataNamesTheProcessTheLineIsAbout() throws {
        let line = LogLine.render(
            format: .json, timestamp: time, level: .info, process: "launcher", logger: "launcher",
            message: "spawned", metadata: ["process": "api", "pid": "42"], error: nil
        )
        #expect(line.hasPrefix(#"{"ts":"2026-11-23T14:15:16.123Z","level":"info","process":"api","logger":"launcher","msg":"spawned","pid":"42"}"#))
    }

    @Test func textLineKeepsAMultiLineMessageOnOneLine() {
        let line = LogLine.render(
            format: .text, timestamp: time, level: .info, process: "api", logger: "contact",
            message: "two\nlines", metadata: ["node": "n1"], error: nil
        )
        #expect(line == "2026-11-23T14:15:16.123Z INFO     api contact: two\\nlines node=n1\n")
    }

    @Test func handlerWritesWholeLinesToItsSinkAndFollowsTheSharedLevel() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let sink = LogSink(descriptor: fds[1])
        let level = LogLevelControl(.info)
        let logger = Logger(label: "satellite") { label in
            StructuredLogHandler(label: label, process: "core", format: .json, sinks: [sink], level: level)
        }
        let overlay = logger.named("overlay")
        overlay.debug("hidden")
        overlay.info("shown", metadata: ["n": "1"])
        level.level = .debug
        overlay.named("service").debug("now shown")
        close(fds[1])
        var bytes = [UInt8](repeating: 0, count: 4096)
        var text = ""
        while true {
            let count = read(fds[0], &bytes, bytes.count)
            if count <= 0 { break }
            text += String(decoding: bytes[0..<count], as: UTF8.self)
        }
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains(#""logger":"overlay","msg":"shown","n":"1""#) == true)
        #expect(lines.last?.contains(#""level":"debug","process":"core","logger":"overlay.service","msg":"now shown""#) == true)
    }
}

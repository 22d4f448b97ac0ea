import Foundation
import StructuredLogging
import Testing

@Suite struct LogSinkTests {
    /// A write cut short (here by a full non-blocking pipe, as by a full disk) leaves part of a
    /// line; the next line must not run on from it.
    @Test func aLineCutShortNeverSpoilsTheNext() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        let sink = LogSink(descriptor: ends[1])
        // Fill the pipe (F_GETPIPE_SZ is 1032) but for about 5000 bytes. A line longer than that
        // and than PIPE_BUF is then written in part: cut short.
        let capacity = Int(fcntl(ends[1], 1032))
        let filler = [UInt8](repeating: UInt8(ascii: "f"), count: capacity - 5000)
        #expect(filler.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } == capacity - 5000)
        let long = "{\"msg\":\"" + String(repeating: "x", count: 8000) + "\"}\n"
        sink.write(long)
        func drain() -> String {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while case let count = read(ends[0], &chunk, chunk.count), count > 0 { bytes += chunk[..<count] }
            return String(decoding: bytes, as: UTF8.self)
        }
        let first = drain()
        #expect(first.contains("{\"msg\":\"xx") && first.hasSuffix("x"), "the long line was not cut: \(first.suffix(20))")
        sink.write("{\"msg\":\"next\"}\n")
        #expect(drain() == "\n{\"msg\":\"next\"}\n")
        sink.write("{\"msg\":\"after\"}\n")
        #expect(drain() == "{\"msg\":\"after\"}\n")
    }
}

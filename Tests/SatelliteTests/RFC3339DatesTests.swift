import Foundation
import OpenAPIRuntime
@testable import Satellite
import Testing

/// The API's date writer writes what the runtime's own transcoder wrote, for any date.
struct RFC3339DatesTests {
    @Test func itWritesWhatTheRuntimesTranscoderWrites() async throws {
        var generator = SystemRandomNumberGenerator()
        let dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_764_000_000.999), Date(timeIntervalSince1970: 4_102_444_799.5)]
            + (0..<2000).map { _ in Date(timeIntervalSince1970: Double.random(in: 0...4_102_444_800, using: &generator)) }
        let ours = RFC3339Dates()
        let theirs = ISO8601DateTranscoder()
        for date in dates {
            #expect(try ours.encode(date) == theirs.encode(date), "\(date.timeIntervalSince1970): \((try? ours.encode(date)) ?? "") vs \((try? theirs.encode(date)) ?? "")")
            #expect(try ours.decode(ours.encode(date)) == theirs.decode(theirs.encode(date)))
        }
    }

    @Test func itRefusesWhatTheRuntimeRefuses() {
        for text in ["", "yesterday", "2026-11-24", "2026-13-01T00:00:00Z"] {
            #expect(throws: (any Error).self) { try RFC3339Dates().decode(text) }
        }
    }
}

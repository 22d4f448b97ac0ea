import Foundation
import OpenAPIRuntime

/// The API's dates as the document writes them (RFC 3339, UTC, whole seconds:
/// `2026-11-24T08:29:39Z`), written through Foundation's Swift `ISO8601FormatStyle`.
///
/// The runtime's default transcoder writes through `ISO8601DateFormatter` (CoreFoundation and
/// ICU, behind a lock), which was a third of the time the API spent encoding an answer with one
/// date in it. Reading is left to the runtime's transcoder, so what a client may send and the
/// errors it gets are as before.
struct RFC3339Dates: DateTranscoder {
    private static let style = Date.ISO8601FormatStyle()
    private let reading = ISO8601DateTranscoder()

    func encode(_ date: Date) throws -> String {
        // ICU rounds to the millisecond before it drops the fraction (…54.9999 is written 55);
        // the format style drops it at once. Round first, so the two agree to the second.
        Self.style.format(Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000))
    }

    func decode(_ text: String) throws -> Date {
        try reading.decode(text)
    }
}

/// Writes fields as NUL-terminated UTF-8 text, the encoding of the launch plan and the handover.
enum FieldWriter {
    static func bytes(_ fields: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for field in fields {
            bytes += field.utf8
            bytes.append(0)
        }
        return bytes
    }

    /// Bytes that may hold a NUL, as lowercase hex.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Reads NUL-separated fields, as ``FieldWriter`` writes them: the launch plan's encoding and
/// the handover's, readable without Foundation.
struct FieldReader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func text() throws(LaunchPlanError) -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else { throw LaunchPlanError(detail: "cut short") }
        defer { offset = end + 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    mutating func count() throws(LaunchPlanError) -> Int {
        let field = try text()
        guard let number = Int(field), number >= 0 else { throw LaunchPlanError(detail: "\"\(field)\" is not a count") }
        return number
    }

    mutating func flag() throws(LaunchPlanError) -> Bool {
        try count() == 1
    }

    mutating func list() throws(LaunchPlanError) -> [String] {
        var items: [String] = []
        for _ in 0..<(try count()) { items.append(try text()) }
        return items
    }

    mutating func duration() throws(LaunchPlanError) -> Duration {
        let field = try text()
        guard let nanoseconds = Int64(field) else { throw LaunchPlanError(detail: "\"\(field)\" is not a duration") }
        return .nanoseconds(nanoseconds)
    }

    /// A signed whole number (a descriptor, a pid, nanoseconds that may lie ahead).
    mutating func integer() throws(LaunchPlanError) -> Int {
        let field = try text()
        guard let number = Int(field) else { throw LaunchPlanError(detail: "\"\(field)\" is not a number") }
        return number
    }

    mutating func descriptor() throws(LaunchPlanError) -> Int32 {
        let number = try integer()
        guard number >= -1, number <= Int(Int32.max) else { throw LaunchPlanError(detail: "\(number) is not a descriptor") }
        return Int32(number)
    }

    mutating func hexBytes() throws(LaunchPlanError) -> [UInt8] {
        let digits = Array(try text().utf8)
        guard digits.count % 2 == 0 else { throw LaunchPlanError(detail: "odd hex") }
        func value(_ digit: UInt8) throws(LaunchPlanError) -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            default: throw LaunchPlanError(detail: "not hex")
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            bytes.append(try value(digits[index]) << 4 | value(digits[index + 1]))
            index += 2
        }
        return bytes
    }
}

import Foundation

/// Lowercase hexadecimal, as the API writes node ids, stream ids and keys.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Through a table: `String(format:)` per byte was most of the time an upload of 10,000
    /// segments took to answer (five node ids per segment).
    public static func encode(_ bytes: Data) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            var index = 0
            for byte in bytes {
                buffer[index] = digits[Int(byte >> 4)]
                buffer[index + 1] = digits[Int(byte & 0x0f)]
                index += 2
            }
            return index
        }
    }

    /// Exactly `count` bytes from `2 * count` lowercase hexadecimal digits, or nil.
    public static func decode(_ text: String, count: Int) -> Data? {
        let digits = Array(text.utf8)
        guard digits.count == count * 2 else { return nil }
        // Into an array, then one Data: appending to a Data byte by byte was a third of the
        // time the API spent authenticating a request.
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            guard let high = value(digits[2 * index]), let low = value(digits[2 * index + 1]) else { return nil }
            bytes[index] = high << 4 | low
        }
        return Data(bytes)
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

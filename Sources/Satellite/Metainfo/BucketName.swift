/// Bucket names as S3 has them: 3 to 63 lowercase letters, digits, '-' and '.', starting and
/// ending with a letter or digit.
enum BucketName {
    static let rule = "3 to 63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"

    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        guard alphanumeric(bytes.first!), alphanumeric(bytes.last!) else { return false }
        return bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}

/// Storj's padding of a segment to whole stripes (storj/common encryption/pad.go): the data, then
/// zeros, then the pad's whole length (zeros and these 4 bytes) as a big-endian UInt32, so that the
/// padded size is the smallest multiple of the stripe size that holds the data and 4 bytes more.
public enum Padding {
    /// The padded size of `size` bytes for stripes of `stripeSize` bytes.
    public static func paddedSize(of size: Int, stripeSize: Int) -> Int {
        precondition(size >= 0 && stripeSize > 0)
        return (size + 4 + stripeSize - 1) / stripeSize * stripeSize
    }

    /// The bytes that follow `size` bytes of data: zeros and the pad length.
    public static func pad(for size: Int, stripeSize: Int) -> [UInt8] {
        let length = paddedSize(of: size, stripeSize: stripeSize) - size
        var pad = [UInt8](repeating: 0, count: length)
        let field = UInt32(length).bigEndian
        withUnsafeBytes(of: field) { bytes in
            for index in 0..<4 { pad[length - 4 + index] = bytes[index] }
        }
        return pad
    }

    /// The size of the data in a padded segment of `paddedSize` bytes that ends with `trailer`
    /// (its last 4 bytes).
    /// - Throws: ``ErasureCodingError/padding(padLength:paddedSize:)`` when the pad length is
    ///   under 4 or longer than the segment.
    public static func unpaddedSize(paddedSize: Int, trailer: some Collection<UInt8>) throws(ErasureCodingError) -> Int {
        guard trailer.count == 4 else { throw .padding(padLength: -1, paddedSize: paddedSize) }
        let length = trailer.reduce(0) { $0 << 8 | Int($1) }
        guard length >= 4, length <= paddedSize else { throw .padding(padLength: length, paddedSize: paddedSize) }
        return paddedSize - length
    }
}

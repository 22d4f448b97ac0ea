import Crypto
import Foundation

/// An object's content, encrypted segment by segment and, within a segment, block by block (Storj's
/// encryption blocks): each block of ``plainBlockSize`` bytes is sealed with AES-256-GCM under the
/// segment's own key and a nonce that is the block's number, so that a range decrypts only the
/// blocks it touches, and a block altered, moved or cut off fails its tag.
///
/// The object's key comes from the object key's path keys and the upload's stream id, which the
/// satellite draws at random for every upload: a new version of a key is sealed under a new key,
/// and no (key, nonce) pair ever seals twice. The satellite never holds a key.
public struct ContentCipher: Sendable {
    /// Plaintext bytes a block; sealed, with its 16-byte tag, a block is 64 KiB.
    public static let plainBlockSize = 65_536 - 16
    public static let sealedBlockSize = 65_536

    let objectKey: SymmetricKey
    public let bucket: String
    public let key: String

    public init(path: PathCipher, key: String, streamID: Data) {
        bucket = path.bucket
        self.key = key
        objectKey = RootKey.derive(from: path.contentRoot(of: key), purpose: "object content", streamID)
    }

    /// The bytes `plainSize` bytes of a segment take sealed.
    public static func sealedSize(ofPlain plainSize: Int) -> Int {
        plainSize + 16 * ((plainSize + plainBlockSize - 1) / plainBlockSize)
    }

    /// The plaintext bytes behind `sealedSize` sealed bytes, or nil when no plaintext seals to it.
    public static func plainSize(ofSealed sealedSize: Int) -> Int? {
        let blocks = (sealedSize + sealedBlockSize - 1) / sealedBlockSize
        let plain = sealedSize - 16 * blocks
        return plain >= 0 && Self.sealedSize(ofPlain: plain) == sealedSize ? plain : nil
    }

    /// The plaintext of sealed blocks; see ``open(_:segment:firstBlock:)-(ArraySlice<UInt8>)``.
    public func open(_ sealed: [UInt8], segment position: Int, firstBlock: Int = 0) throws(UplinkError) -> [UInt8] {
        try open(sealed[...], segment: position, firstBlock: firstBlock)
    }

    /// Segment `position`'s plaintext, or the stretch of it that starts at block `firstBlock`
    /// (all blocks but the segment's last are whole), sealed.
    public func seal(_ plain: some Collection<UInt8>, segment position: Int, firstBlock: Int = 0) -> [UInt8] {
        let segmentKey = self.segmentKey(position)
        var sealed: [UInt8] = []
        sealed.reserveCapacity(Self.sealedSize(ofPlain: plain.count))
        var block = firstBlock
        var start = plain.startIndex
        while start != plain.endIndex {
            let end = plain.index(start, offsetBy: Self.plainBlockSize, limitedBy: plain.endIndex) ?? plain.endIndex
            // A 12-byte nonce and a 256-bit key are always accepted.
            let box = try! AES.GCM.seal(Array(plain[start..<end]), using: segmentKey, nonce: Self.nonce(block))
            sealed += box.ciphertext
            sealed += box.tag
            start = end
            block += 1
        }
        return sealed
    }

    /// The plaintext of sealed blocks `firstBlock`, `firstBlock + 1`, ... of segment `position`;
    /// `sealed` holds whole blocks, the last of a segment possibly short.
    /// - Throws: ``UplinkError/undecryptableContent(bucket:key:segment:block:)`` naming the first
    ///   block that does not authenticate.
    public func open(_ sealed: ArraySlice<UInt8>, segment position: Int, firstBlock: Int = 0) throws(UplinkError) -> [UInt8] {
        let segmentKey = self.segmentKey(position)
        var plain: [UInt8] = []
        plain.reserveCapacity(sealed.count)
        var block = firstBlock
        var start = sealed.startIndex
        while start != sealed.endIndex {
            let end = sealed.index(start, offsetBy: Self.sealedBlockSize, limitedBy: sealed.endIndex) ?? sealed.endIndex
            let tagStart = sealed.index(end, offsetBy: -16, limitedBy: start) ?? start
            guard tagStart > start,
                let box = try? AES.GCM.SealedBox(nonce: Self.nonce(block), ciphertext: sealed[start..<tagStart], tag: sealed[tagStart..<end]),
                let opened = try? AES.GCM.open(box, using: segmentKey)
            else { throw .undecryptableContent(bucket: bucket, key: key, segment: position, block: block) }
            opened.withUnsafeBytes { plain.append(contentsOf: $0) }
            start = end
            block += 1
        }
        return plain
    }

    private func segmentKey(_ position: Int) -> SymmetricKey {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: position).bigEndian) { RootKey.derive(from: objectKey, purpose: "segment", Array($0)) }
    }

    private static func nonce(_ block: Int) -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: UInt64(block).bigEndian) { for index in 0..<8 { bytes[4 + index] = $0[index] } }
        return try! AES.GCM.Nonce(data: bytes)
    }
}

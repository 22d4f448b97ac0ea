import AsyncHTTPClient
import Crypto
import ErasureCoding
import Foundation
import Identity
import NIOCore
import NodeProtocol
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime
import PieceTransfer
import SatelliteAPI

/// How an uplink cuts and moves data.
public struct UplinkConfig: Sendable {
    /// Sealed bytes a segment holds at most: the satellite's `metainfo.max-segment-size`.
    public var maxSegmentSize = 64 << 20
    /// How long one piece transfer may take.
    public var pieceTimeout: Duration = .seconds(120)

    public init() {}
}

/// An object as a listing shows it.
public struct ObjectInfo: Sendable, Equatable {
    public let key: String
    public let version: Int
    public let createdAt: Date
}

/// A client of one satellite and its storage nodes under one ``Access``: buckets, and objects
/// encrypted, erasure-coded and moved straight to and from the nodes. The satellite sees neither
/// plaintext nor keys: object keys go encrypted (``PathCipher``), content sealed
/// (``ContentCipher``), and it only signs the limits the nodes check.
public final class Uplink: Sendable {
    public let access: Access
    public let config: UplinkConfig
    /// Connections to the satellite, which retry a refused connection until their timeout (an
    /// API restarting is back within it).
    let http: HTTPClient
    /// Connections to the nodes, which give up on a refused one at once: a node down is one piece
    /// fewer for the long tail to cover, not ten seconds of retries.
    let nodeHTTP: HTTPClient
    let api: Client
    let pieces: PieceClient

    public init(access: Access, config: UplinkConfig = UplinkConfig()) throws(UplinkError) {
        guard let url = URL(string: access.satelliteURL) else { throw .badAccess("its satellite address \"\(access.satelliteURL)\" is not a URL") }
        self.access = access
        self.config = config
        http = HTTPClient(eventLoopGroupProvider: .singleton)
        var nodes = HTTPClient.Configuration()
        nodes.connectionPool.retryConnectionEstablishment = false
        nodeHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: nodes)
        api = Client(
            serverURL: url, transport: AsyncHTTPClientTransport(configuration: .init(client: http, timeout: .seconds(60))),
            middlewares: [SatelliteMiddleware(apiKey: access.apiKey)]
        )
        pieces = PieceClient(http: nodeHTTP, timeout: .nanoseconds(Int64(config.pieceTimeout.components.seconds) * 1_000_000_000))
    }

    /// Closes the connections; later calls fail.
    public func close() async throws {
        try await nodeHTTP.shutdown()
        try await http.shutdown()
    }

    // MARK: Buckets

    public func createBucket(_ name: String) async throws {
        _ = try await satellite { try await api.createBucket(body: .json(.init(name: name))).created }
    }

    public func deleteBucket(_ name: String) async throws {
        _ = try await satellite { try await api.deleteBucket(path: .init(bucket: name)).noContent }
    }

    /// Every bucket's name, in order.
    public func listBuckets() async throws -> [String] {
        var names: [String] = []
        var cursor: String?
        repeat {
            let page = try await satellite { try await api.listBuckets(query: .init(cursor: cursor)).ok.body.json }
            names += page.buckets.map(\.name)
            cursor = page.nextCursor
        } while cursor != nil
        return names
    }

    // MARK: Objects

    /// The objects whose key starts with `prefix`, which is empty or ends at `/` (a prefix inside
    /// a path component cannot be matched on encrypted keys; ask for its folder and filter).
    public func listObjects(bucket: String, prefix: String = "") async throws -> [ObjectInfo] {
        let path = PathCipher(root: access.rootKey, bucket: bucket)
        let folder = prefix.lastIndex(of: "/").map { String(prefix[...$0]) } ?? ""
        let encryptedPrefix = path.encryptPrefix(folder) ?? ""
        var found: [ObjectInfo] = []
        var cursor: String?
        repeat {
            let page = try await satellite {
                try await api.listObjects(path: .init(bucket: bucket), query: .init(prefix: encryptedPrefix.isEmpty ? nil : encryptedPrefix, cursor: cursor, limit: 1000)).ok.body.json
            }
            for object in page.objects {
                let key = try path.decrypt(object.key)
                if key.hasPrefix(prefix) { found.append(ObjectInfo(key: key, version: object.version, createdAt: object.createdAt)) }
            }
            cursor = page.nextCursor
        } while cursor != nil
        return found.sorted { $0.key < $1.key }
    }

    public func deleteObject(bucket: String, key: String) async throws {
        let encrypted = try encryptedKey(bucket: bucket, key: key)
        _ = try await satellite { try await api.deleteObject(path: .init(bucket: bucket), query: .init(key: encrypted)).noContent }
    }

    /// Stores `data` as `key`: sealed, erasure-coded and sent to the offered nodes segment by
    /// segment; the object is visible once every segment is committed.
    /// - Throws: ``UplinkError`` naming the bucket, key, segment and nodes when it cannot be stored.
    @discardableResult
    public func upload(bucket: String, key: String, data: [UInt8], expires: Date? = nil) async throws -> ObjectInfo {
        var offset = 0
        return try await upload(bucket: bucket, key: key, size: data.count, expires: expires) { count in
            defer { offset += count }
            return Array(data[offset..<offset + count])
        }
    }

    /// Stores `size` bytes as `key`, or a stream of unknown length when `size` is nil, asking
    /// `read` for them 4 MiB at a time (`read(n)` gives the next `n` bytes; fewer, or none, only
    /// at the end of a stream of unknown length), so that no more than a segment's pieces are in
    /// memory: a file or a pipe of any size uploads in the memory of one segment.
    /// - Throws: ``UplinkError`` naming the bucket, key, segment and nodes when it cannot be
    ///   stored; what `read` throws.
    @discardableResult
    public func upload(bucket: String, key: String, size: Int?, expires: Date? = nil, read: (Int) throws -> [UInt8]) async throws -> ObjectInfo {
        let encrypted = try encryptedKey(bucket: bucket, key: key)
        let plainPerSegment = config.maxSegmentSize / ContentCipher.sealedBlockSize * ContentCipher.plainBlockSize
        let segmentCount = size.map { ($0 + plainPerSegment - 1) / plainPerSegment }
        let begun = try await satellite {
            try await api.beginObject(path: .init(bucket: bucket), body: .json(.init(key: encrypted, segmentCount: segmentCount, expiresAt: expires))).created.body.json
        }
        let cipher = ContentCipher(path: PathCipher(root: access.rootKey, bucket: bucket), key: key, streamID: Hex.decode(begun.streamId, count: 16) ?? Data())
        let scheme = try RedundancyScheme(
            required: begun.redundancy.k, repair: begun.redundancy.repair, optimal: begun.redundancy.optimal, total: begun.redundancy.total,
            shareSize: begun.redundancy.shareSize
        )
        let code = try ErasureCode(required: scheme.required, total: scheme.total)
        var offers = begun.segments
        var position = 0
        var consumed = 0
        var ended = false
        while !ended, position < segmentCount ?? Int.max {
            // Read, sealed and encoded 64 blocks (4 MiB) at a time: what stays is the pieces.
            let wanted = size.map { min($0, (position + 1) * plainPerSegment) - position * plainPerSegment } ?? plainPerSegment
            var encoder = SegmentEncoder(code: code, shareSize: scheme.shareSize)
            var runs: [PieceRuns] = []
            var encryptedSize = 0
            var block = 0
            var taken = 0
            while taken < wanted {
                let count = min(wanted - taken, Self.blocksPerRead * ContentCipher.plainBlockSize)
                let plain = try read(count)
                if let size, plain.count != count {
                    throw UplinkError.sourceShort(key: key, expected: size, got: consumed + plain.count)
                }
                consumed += plain.count
                if plain.count < count { ended = true }
                if plain.isEmpty { break }
                let sealed = cipher.seal(plain, segment: position, firstBlock: block)
                runs.append(encoder.append(sealed))
                encryptedSize += sealed.count
                block += Self.blocksPerRead
                taken += plain.count
                if ended { break }
            }
            // A stream that ended at a segment's edge has no more segments.
            if taken == 0 && segmentCount == nil { break }
            runs.append(encoder.finish())
            if position - (offers.first?.position ?? 0) >= offers.count || position < (offers.first?.position ?? 0) {
                // A stream of unknown length asks for each segment's nodes once it has its bytes.
                let count = segmentCount.map { min(32, $0 - position) } ?? 1
                offers = try await satellite {
                    try await api.offerSegments(path: .init(streamId: begun.streamId), body: .json(.init(first: position, count: count))).ok.body.json.segments
                }
            }
            let offer = offers[position - offers[0].position]
            let stored = try await store(runs, offer: offer, optimal: scheme.optimal, place: (bucket, key, position))
            runs = []
            _ = try await satellite {
                try await api.commitSegment(
                    path: .init(streamId: begun.streamId),
                    body: .json(.init(position: position, encryptedSize: Int64(encryptedSize), pieces: stored.map {
                        Components.Schemas.StoredPiece(number: $0.number, nodeId: $0.node, hash: Base64EncodedData($0.hash))
                    }))
                ).noContent
            }
            position += 1
        }
        let segments = position
        let committed = try await satellite {
            try await api.commitObject(path: .init(streamId: begun.streamId), body: .json(.init(segmentCount: segments))).ok.body.json
        }
        return ObjectInfo(key: key, version: committed.version, createdAt: committed.createdAt)
    }

    /// The bytes of `key`, or of `range` of them.
    /// - Throws: ``UplinkError`` naming the bucket, key, segment and nodes when it cannot be read.
    public func download(bucket: String, key: String, range: Range<Int>? = nil) async throws -> [UInt8] {
        var data: [UInt8] = []
        try await download(bucket: bucket, key: key, range: range) { data += $0 }
        return data
    }

    /// Reads `key`, or the bytes of `range` in it (clipped to the object, as HTTP clips a range),
    /// handing the plaintext to `write` a segment at a time, in order; returns the bytes written.
    /// A range reads only the segments it touches and, in each, only the stripes under the
    /// encryption blocks it touches: a few KiB of a large object cost a few KiB from each of k
    /// nodes. No more than a segment is in memory.
    /// - Throws: ``UplinkError`` naming the bucket, key, segment and nodes when it cannot be
    ///   read; what `write` throws.
    @discardableResult
    public func download(bucket: String, key: String, range: Range<Int>? = nil, write: ([UInt8]) throws -> Void) async throws -> Int {
        let encrypted = try encryptedKey(bucket: bucket, key: key)
        let wanted = range ?? 0..<Int.max
        var written = 0
        var first = 0
        var segmentCount = 0
        var version: Int?
        var cipher: ContentCipher?
        // Where the next segment's plaintext starts in the object.
        var plainStart = 0
        // Pages of 32 segments, every page of the version the first one found.
        pages: repeat {
            let page = try await satellite {
                try await api.getObject(path: .init(bucket: bucket), query: .init(key: encrypted, version: version, first: first, count: 32)).ok.body.json
            }
            version = page.version
            segmentCount = page.segmentCount
            let contents = cipher ?? ContentCipher(path: PathCipher(root: access.rootKey, bucket: bucket), key: key, streamID: Hex.decode(page.streamId, count: 16) ?? Data())
            cipher = contents
            let place = SegmentPlace(bucket: bucket, key: key, encryptedKey: encrypted, version: page.version)
            for segment in page.segments {
                guard let plainSize = ContentCipher.plainSize(ofSealed: Int(segment.encryptedSize)) else {
                    throw UplinkError.undecodable(bucket: bucket, key: key, segment: segment.position, reason: "no plaintext seals to \(segment.encryptedSize) bytes")
                }
                defer { plainStart += plainSize }
                if plainStart >= wanted.upperBound { break pages }
                let lower = max(wanted.lowerBound - plainStart, 0), upper = min(wanted.upperBound - plainStart, plainSize)
                guard lower < upper else { continue }
                let inSegment = lower..<upper
                let plain: [UInt8]
                if inSegment.count == plainSize {
                    plain = try contents.open(try await fetch(segment, at: place), segment: segment.position)
                } else {
                    plain = try await fetch(inSegment, of: segment, at: place, cipher: contents)
                }
                try write(plain)
                written += plain.count
            }
            guard let last = page.segments.last else { break }
            first = last.position + 1
        } while first < segmentCount
        return written
    }

    // MARK: Pieces

    private struct StoredPiece: Sendable {
        let number: Int
        let node: String
        let hash: Data
    }

    /// Plaintext blocks an upload reads, seals and encodes at once.
    static let blocksPerRead = 64

    /// Sends piece `i` to node `i` of the offer, all at once, and cancels the rest once `optimal`
    /// have stored theirs (Storj's long-tail cancellation).
    private func store(_ runs: [PieceRuns], offer: Components.Schemas.SegmentOffer, optimal: Int, place: (String, String, Int)) async throws -> [StoredPiece] {
        let pieceKey = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(offer.piecePrivateKey.data))
        return try await withThrowingTaskGroup(of: Result<StoredPiece, UplinkError>.self) { group in
            for (number, node) in offer.nodes.enumerated() {
                // The piece where the encoder left it: no copy until the frames are written.
                let piece = runs.map { $0[number] }
                group.addTask { [pieces] in
                    do {
                        let limit = try OrderLimit(decoding: Data(node.orderLimit.data))
                        let hash = try await pieces.upload(piece, to: node.address, limit: limit, pieceKey: pieceKey)
                        return .success(StoredPiece(number: number, node: node.nodeId, hash: hash))
                    } catch let error as PieceTransferError {
                        return .failure(.node(address: error.address, what: error.what, reason: error.reason))
                    } catch is CancellationError {
                        return .failure(.node(address: node.address, what: "an upload", reason: "cancelled: enough nodes had stored theirs"))
                    } catch {
                        return .failure(.node(address: node.address, what: "an upload", reason: "\(error)"))
                    }
                }
            }
            var stored: [StoredPiece] = []
            var failures: [String] = []
            for try await outcome in group {
                switch outcome {
                case .success(let piece): stored.append(piece)
                case .failure(let error): failures.append(error.description)
                }
                if stored.count >= optimal {
                    group.cancelAll()
                    return stored
                }
            }
            throw UplinkError.notEnoughStored(
                bucket: place.0, key: place.1, segment: place.2, stored: stored.count, needed: optimal, offered: offer.nodes.count, failures: failures
            )
        }
    }

    /// Where a segment is, for asking the satellite for it again.
    private struct SegmentPlace: Sendable {
        let bucket: String
        let key: String
        let encryptedKey: String
        let version: Int
    }

    /// The sealed bytes of a segment, rebuilt from the first `k` pieces its limits fetch.
    private func fetch(_ segment: Components.Schemas.Segment, at place: SegmentPlace) async throws -> [UInt8] {
        let r = segment.redundancy
        let pieceSize = Padding.paddedSize(of: Int(segment.encryptedSize), stripeSize: r.k * r.shareSize) / r.k
        let shares = try await shares(0..<pieceSize, of: segment, at: place)
        do {
            // The satellite says where the data ends; the pad's own length must agree.
            var data = try ErasureCode(required: r.k, total: r.total).rebuildStripes(shares, shareSize: r.shareSize)
            let dataEnd = try Padding.unpaddedSize(paddedSize: data.count, trailer: data.suffix(4))
            guard dataEnd == Int(segment.encryptedSize) else {
                throw ErasureCodingError.padding(padLength: data.count - dataEnd, paddedSize: data.count)
            }
            data.removeLast(data.count - dataEnd)
            return data
        } catch {
            throw UplinkError.undecodable(bucket: place.bucket, key: place.key, segment: segment.position, reason: "\(error)")
        }
    }

    /// The plaintext of `plainRange` of a segment, from the stripes under the encryption blocks
    /// that hold it, and from no others.
    private func fetch(
        _ plainRange: Range<Int>, of segment: Components.Schemas.Segment, at place: SegmentPlace, cipher: ContentCipher
    ) async throws -> [UInt8] {
        let r = segment.redundancy
        let stripeSize = r.k * r.shareSize
        let encryptedSize = Int(segment.encryptedSize)
        let firstBlock = plainRange.lowerBound / ContentCipher.plainBlockSize
        let lastBlock = (plainRange.upperBound - 1) / ContentCipher.plainBlockSize
        let sealed = firstBlock * ContentCipher.sealedBlockSize..<min((lastBlock + 1) * ContentCipher.sealedBlockSize, encryptedSize)
        let stripes = sealed.lowerBound / stripeSize..<(sealed.upperBound - 1) / stripeSize + 1
        let shares = try await shares(stripes.lowerBound * r.shareSize..<stripes.upperBound * r.shareSize, of: segment, at: place)
        let data: [UInt8]
        do {
            data = try ErasureCode(required: r.k, total: r.total).rebuildStripes(shares, shareSize: r.shareSize)
        } catch {
            throw UplinkError.undecodable(bucket: place.bucket, key: place.key, segment: segment.position, reason: "\(error)")
        }
        let inData = sealed.lowerBound - stripes.lowerBound * stripeSize
        let plain = try cipher.open(data[inData..<inData + sealed.count], segment: segment.position, firstBlock: firstBlock)
        let inPlain = plainRange.lowerBound - firstBlock * ContentCipher.plainBlockSize
        return Array(plain[inPlain..<inPlain + plainRange.count])
    }

    /// `k` pieces' bytes of `pieceRange`, from the first nodes of the segment's limits to answer.
    /// When too few do, it asks the satellite for the segment again without the nodes that
    /// failed (a node can be down while the satellite still counts it online), twice at most.
    private func shares(_ pieceRange: Range<Int>, of first: Components.Schemas.Segment, at place: SegmentPlace) async throws -> [Share] {
        let r = first.redundancy
        let position = first.position
        var shares: [Int: Share] = [:]
        var tried = Set<String>()
        var failures: [String: String] = [:]
        var segment = first
        for attempt in 0..<3 {
            if attempt > 0 {
                let exclude = failures.keys.sorted().prefix(100).joined(separator: ",")
                let page = try await satellite {
                    try await api.getObject(
                        path: .init(bucket: place.bucket), query: .init(key: place.encryptedKey, version: place.version, first: position, count: 1, exclude: exclude)
                    ).ok.body.json
                }
                guard let again = page.segments.first, again.position == position else { break }
                segment = again
            }
            let limited = segment.pieces.compactMap { piece -> (Components.Schemas.PieceLocation, OrderLimit)? in
                guard !tried.contains(piece.nodeId), shares[piece.number] == nil, let limit = piece.orderLimit.flatMap({ try? OrderLimit(decoding: Data($0.data)) }) else { return nil }
                return (piece, limit)
            }
            guard !limited.isEmpty else { break }
            tried.formUnion(limited.map(\.0.nodeId))
            let needed = r.k - shares.count
            let fetched = try await withThrowingTaskGroup(of: (String, Result<Share, UplinkError>).self) { group in
                for (piece, limit) in limited {
                    group.addTask { [pieces] in
                        do {
                            let bytes = try await pieces.download(
                                from: piece.address, limit: limit, offset: Int64(pieceRange.lowerBound), count: Int64(pieceRange.count)
                            )
                            return (piece.nodeId, .success(Share(number: piece.number, bytes: bytes)))
                        } catch let error as PieceTransferError {
                            return (piece.nodeId, .failure(.node(address: error.address, what: error.what, reason: error.reason)))
                        } catch {
                            return (piece.nodeId, .failure(.node(address: piece.address, what: "a download", reason: "\(error)")))
                        }
                    }
                }
                var got: [Share] = []
                var failed: [(String, String)] = []
                for try await (node, outcome) in group {
                    switch outcome {
                    case .success(let share): got.append(share)
                    case .failure(let error): failed.append((node, error.description))
                    }
                    // The rest are the long tail: not waited for.
                    if got.count >= needed {
                        group.cancelAll()
                        break
                    }
                }
                return (got, failed)
            }
            for share in fetched.0 { shares[share.number] = share }
            for (node, reason) in fetched.1 { failures[node] = reason }
            if shares.count >= r.k { break }
        }
        guard shares.count >= r.k else {
            throw UplinkError.notEnoughServed(
                bucket: place.bucket, key: place.key, segment: position, served: shares.count, needed: r.k, asked: tried.count,
                failures: failures.values.sorted()
            )
        }
        return Array(shares.values.sorted { $0.number < $1.number }.prefix(r.k))
    }

    private func encryptedKey(bucket: String, key: String) throws(UplinkError) -> String {
        let encrypted = PathCipher(root: access.rootKey, bucket: bucket).encrypt(key)
        guard encrypted.unicodeScalars.count <= 1024 else { throw .keyTooLong(key: key, encryptedLength: encrypted.unicodeScalars.count, limit: 1024) }
        return encrypted
    }
}

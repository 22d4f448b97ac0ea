import Foundation
import Identity
import NodeProtocol
import OpenAPIRuntime
import PeerRuntime
import SatelliteAPI
import SatelliteDB

/// The API's operations, as the generated `APIProtocol` names them. The generated code decodes
/// the JSON; everything the document says that the generator does not enforce (patterns, lengths,
/// bounds) is checked here, before anything is written.
struct APIHandlers: APIProtocol {
    let overlay: Overlay
    let limiter: CheckInLimiter
    let sourceLimiter: CheckInSourceLimiter
    /// The same bound for the source's network.
    let networkLimiter: CheckInSourceLimiter
    let contact: ContactConfig
    let database: any SatelliteDatabase
    let keys: APIKeys
    let metainfo: MetainfoConfig
    let signer: OrderSigner
    let settlement: SettlementCheck
    let threads: BlockingThreads

    /// Runs CPU-bound work (signing a large batch of order limits) on the peer's
    /// ``BlockingThreads``, off Swift's shared pool.
    func blocking<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await threads.run(work)
    }

    /// The project of the request's bearer key, or the error body that refuses it.
    enum Authentication {
        case success(ProjectRecord)
        case failure(ErrorBody)
    }

    /// Runs `body` with the project of the request's bearer key, or answers `refused` with why not.
    func withProject<Output>(_ refused: (ErrorBody) -> Output, _ body: (ProjectRecord) async throws -> Output) async throws -> Output {
        switch try await authenticate() {
        case .failure(let refusal): return refused(refusal)
        case .success(let project): return try await body(project)
        }
    }

    func authenticate() async throws -> Authentication {
        guard let header = RequestAuthorization.header else {
            return .failure(ErrorBody(.unauthorized, "missing Authorization header; send Authorization: Bearer <api key>"))
        }
        guard let key = Self.bearerToken(header) else {
            return .failure(ErrorBody(.unauthorized, "the Authorization header must be Bearer <api key>"))
        }
        let refused = ErrorBody(.unauthorized, "the API key is not valid")
        switch keys.presented(key) {
        case .malformed:
            return .failure(refused)
        case .known(let project):
            return .success(project)
        case .unknown(let hash):
            guard let project = try await keys.project(forSecretHash: hash) else { return .failure(refused) }
            return .success(project)
        }
    }

    /// The token of `Bearer <token>` (the scheme in any case, blanks around the token), or nil.
    /// On the bytes: Foundation's `trimmingCharacters` went through NSString and was most of the
    /// time authentication took.
    static func bearerToken(_ header: String) -> String? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, bytes[scheme.count] == UInt8(ascii: " "),
            zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 })
        else { return nil }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let token = bytes[(scheme.count + 1)...].drop(while: isBlank).reversed().drop(while: isBlank).reversed()
        return String(decoding: token, as: UTF8.self)
    }

    func listBuckets(_ input: Operations.ListBuckets.Input) async throws -> Operations.ListBuckets.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            let limit = input.query.limit ?? 100
            guard (1...1000).contains(limit) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"limit\" must be from 1 to 1000"))))
            }
            if let cursor = input.query.cursor, cursor.utf8.count > 63 {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"cursor\" must be a bucket name"))))
            }
            let page = try await database.listBuckets(project: project.id, after: input.query.cursor, limit: limit + 1)
            let buckets = page.prefix(limit).map { Components.Schemas.Bucket(name: $0.name, createdAt: $0.createdAt) }
            return .ok(.init(body: .json(.init(buckets: Array(buckets), nextCursor: page.count > limit ? buckets.last?.name : nil))))
        }
    }

    func createBucket(_ input: Operations.CreateBucket.Input) async throws -> Operations.CreateBucket.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard case .json(let body) = input.body else { return .badRequest(.init(body: .json(ErrorBody(.badRequest, "the body must be JSON")))) }
            guard BucketName.isValid(body.name) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"name\" must be \(BucketName.rule)"))))
            }
            do {
                let bucket = try await database.createBucket(project: project.id, name: body.name, at: Date())
                return .created(.init(body: .json(.init(name: bucket.name, createdAt: bucket.createdAt))))
            } catch let conflict as MetainfoConflict {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
        }
    }

    func deleteBucket(_ input: Operations.DeleteBucket.Input) async throws -> Operations.DeleteBucket.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            let name = input.path.bucket
            guard BucketName.isValid(name) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "bucket name must be \(BucketName.rule)"))))
            }
            do {
                try await database.deleteBucket(project: project.id, name: name)
                return .noContent(.init())
            } catch MetainfoConflict.noSuchBucket(let name) {
                return .notFound(.init(body: .json(ErrorBody(.notFound, MetainfoConflict.noSuchBucket(name).description))))
            } catch let conflict as MetainfoConflict {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
        }
    }

    func checkIn(_ input: Operations.CheckIn.Input) async throws -> Operations.CheckIn.Output {
        guard case .json(let body) = input.body else { return .badRequest(.init(body: .json(ErrorBody(.badRequest, "the body must be JSON")))) }
        guard let id = Hex.decode(body.nodeId, count: 32) else {
            return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"node_id\" must be 64 lowercase hexadecimal digits"))))
        }
        let address: NodeAddress
        do {
            address = try NodeAddress(body.address)
        } catch {
            return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"address\": \(error)"))))
        }
        guard body.freeDisk >= 0 else {
            return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"free_disk\" must be 0 or more"))))
        }
        guard (1...64).contains(body.version.unicodeScalars.count) else {
            return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"version\" must be 1 to 64 characters"))))
        }
        switch address.scope {
        case .global: break
        case .local where contact.allowPrivateAddresses: break
        case .local:
            return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"address\": \(body.address) is a loopback or private address; this satellite accepts public ones only (contact.allow-private-addresses)"))))
        case .unusable(let why):
            return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"address\": \(body.address) cannot be a node's: \(why)"))))
        }
        if let failure = CheckInProofFailure.check(
            nodeID: NodeID(bytes: id)!, address: body.address, freeDisk: body.freeDisk, version: body.version,
            publicKey: body.publicKey, signedAt: body.signedAt, signature: body.signature,
            now: Date(), maxSkew: Int64(contact.checkInClockSkew.components.seconds)
        ) {
            if case .malformed = failure { return .badRequest(.init(body: .json(ErrorBody(.badRequest, failure.description)))) }
            return .unauthorized(.init(body: .json(ErrorBody(.unauthorized, failure.description))))
        }
        if let source = RequestSource.address, let wait = sourceLimiter.admit(id, from: source) {
            let seconds = max(1, Int(wait.timeInterval.rounded(.up)))
            return .tooManyRequests(.init(
                headers: .init(retryAfter: seconds),
                body: .json(ErrorBody(.tooManyRequests, "\(source) checked in \(sourceLimiter.limit) different nodes within \(sourceLimiter.window) (contact.max-nodes-per-source); retry after \(seconds) s"))
            ))
        }
        if let source = RequestSource.address {
            let network = NodeAddress.network(ofSource: source)
            if let wait = networkLimiter.admit(id, from: network) {
                let seconds = max(1, Int(wait.timeInterval.rounded(.up)))
                return .tooManyRequests(.init(
                    headers: .init(retryAfter: seconds),
                    body: .json(ErrorBody(.tooManyRequests, "addresses of \(network) checked in \(networkLimiter.limit) different nodes within \(networkLimiter.window) (contact.max-nodes-per-source-network); retry after \(seconds) s"))
                ))
            }
        }
        if let wait = limiter.admit(id) {
            let seconds = max(1, Int(wait.timeInterval.rounded(.up)))
            return .tooManyRequests(.init(
                headers: .init(retryAfter: seconds),
                body: .json(ErrorBody(.tooManyRequests, "node \(body.nodeId) checked in less than \(limiter.interval) ago; retry after \(seconds) s"))
            ))
        }
        // The proof above checked that the key decodes and hashes to the id.
        let publicKey = Hex.decode(body.publicKey, count: 32)
        let lastNet = try await overlay.checkIn(id: id, publicKey: publicKey, address: address, freeDisk: body.freeDisk, version: body.version)
        return .ok(.init(body: .json(.init(nodeId: body.nodeId, lastNet: lastNet))))
    }

    func live(_ input: Operations.Live.Input) async throws -> Operations.Live.Output {
        .ok(.init(body: .plainText("ok\n")))
    }

    func ready(_ input: Operations.Ready.Input) async throws -> Operations.Ready.Output {
        if (try? await database.isUpToDate()) == true { return .ok(.init(body: .plainText("ready\n"))) }
        return .serviceUnavailable(.init(body: .plainText("database unreachable or not migrated\n")))
    }

    func document(_ input: Operations.Document.Input) async throws -> Operations.Document.Output {
        .ok(.init(body: .yaml(HTTPBody(APIDocument.yaml))))
    }
}

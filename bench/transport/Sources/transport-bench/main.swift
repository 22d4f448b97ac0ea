// Uploads and downloads of 4 and 64 MiB pieces on loopback, one client, through HTTP/1.1 on
// Hummingbird (streamed bodies, as the storage node serves the piece protocol) and through gRPC
// on grpc-swift-2 (HTTP/2, a client-streaming upload and a server-streaming download of raw byte
// messages), into and out of the same kind of file: written in the chunks as they come, fsynced
// and renamed; read in 256 KiB chunks. Upload chunks are 1 MiB, as the piece protocol's largest
// frame. Best of 5 for each; MB/s of piece bytes. A benchmark: it asserts nothing.
//   transport-bench WORK-DIRECTORY
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Hummingbird
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: transport-bench WORK-DIRECTORY\n".utf8))
    exit(64)
}
let work = CommandLine.arguments[1]
let uploadChunk = 1 << 20

/// A piece being stored: a temporary file written as bytes come, then fsynced and renamed.
struct PieceFile {
    let temp: String
    let final: String
    let descriptor: Int32

    init(directory: String, name: String) {
        final = directory + "/" + name
        temp = final + ".partial"
        descriptor = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(descriptor >= 0, "open \(temp): \(errno)")
    }

    func write(_ bytes: UnsafeRawBufferPointer) {
        var done = 0
        while done < bytes.count {
            let count = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            precondition(count > 0, "write \(temp): \(errno)")
            done += count
        }
    }

    func commit() {
        precondition(fsync(descriptor) == 0 && close(descriptor) == 0 && rename(temp, final) == 0)
    }
}

/// The stored piece `name` in `directory`, in chunks of 256 KiB.
@Sendable func readPiece(directory: String, _ name: String, _ body: ([UInt8]) async throws -> Void) async throws {
    let descriptor = open(directory + "/" + name, O_RDONLY | O_CLOEXEC)
    precondition(descriptor >= 0)
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 256 << 10)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return }
        try await body(count == buffer.count ? buffer : Array(buffer[..<count]))
    }
}

// MARK: HTTP

func httpServer(directory: String) async throws -> (Int, Task<Void, any Error>) {
    let router = Router()
    router.post("/upload/:name") { request, context in
        let file = PieceFile(directory: directory, name: try context.parameters.require("name"))
        for try await buffer in request.body { buffer.withUnsafeReadableBytes { file.write($0) } }
        file.commit()
        return Response(status: .ok)
    }
    router.get("/download/:name") { _, context in
        let name = try context.parameters.require("name")
        var status = stat()
        precondition(stat(directory + "/" + name, &status) == 0)
        // With its length, as the node answers a download: no chunked framing.
        return Response(status: .ok, headers: [.contentLength: "\(status.st_size)"], body: ResponseBody { writer in
            try await readPiece(directory: directory, name) { try await writer.write(ByteBuffer(bytes: $0)) }
            try await writer.finish(nil)
        })
    }
    let (port, portSet) = AsyncStream.makeStream(of: Int.self)
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { channel in
        portSet.yield(channel.localAddress?.port ?? 0)
        portSet.finish()
    })
    let task = Task { try await app.runService() }
    var iterator = port.makeAsyncIterator()
    return (await iterator.next() ?? 0, task)
}

/// One HTTP/1.1 request on a new connection; the request body is `send`'s chunks, the answer's
/// body is counted and dropped. Returns the answer's body length.
func httpRequest(port: Int, head: String, length: Int, send: (([UInt8]) -> Void) -> Void) -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    precondition(withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0)
    func write(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            precondition(count > 0)
            sent += count
        }
    }
    write(Array("\(head) HTTP/1.1\r\nHost: bench\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8))
    send(write)
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var total = 0
    var headerEnd: Int?
    while true {
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { break }
        total += count
        if headerEnd == nil {
            received += chunk[..<count]
            if let end = received.indices.dropLast(3).first(where: { received[$0] == 13 && received[$0 + 1] == 10 && received[$0 + 2] == 13 && received[$0 + 3] == 10 }) {
                headerEnd = end + 4
            }
        }
    }
    return total - (headerEnd ?? total)
}

// MARK: gRPC

struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

let uploadMethod = MethodDescriptor(fullyQualifiedService: "bench.Pieces", method: "Upload")
let downloadMethod = MethodDescriptor(fullyQualifiedService: "bench.Pieces", method: "Download")

struct PieceService: RegistrableRPCService {
    let directory: String

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: uploadMethod, deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
            // The first message names the piece; the others are its bytes.
            var messages = request.messages.makeAsyncIterator()
            let name = String(decoding: try await messages.next() ?? [], as: UTF8.self)
            let file = PieceFile(directory: directory, name: name)
            while let chunk = try await messages.next() { chunk.withUnsafeBytes { file.write($0) } }
            file.commit()
            return StreamingServerResponse(single: ServerResponse(message: []))
        }
        router.registerHandler(forMethod: downloadMethod, deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
            var messages = request.messages.makeAsyncIterator()
            let name = String(decoding: try await messages.next() ?? [], as: UTF8.self)
            return StreamingServerResponse { writer in
                try await readPiece(directory: directory, name) { try await writer.write($0) }
                return [:]
            }
        }
    }
}

// MARK: The run

func measure(_ work: () async throws -> Void) async throws -> Double {
    var best = Double.infinity
    for _ in 0..<5 {
        let start = ContinuousClock.now
        try await work()
        let elapsed = ContinuousClock.now - start
        best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
    return best
}

try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
let (httpPort, httpTask) = try await httpServer(directory: work)
/// A gRPC server and a client of it; `frame` is the HTTP/2 frame size both ends use (16 KiB by
/// default, up to 16 MiB − 1).
func grpcPair(frame: Int?) async throws -> (GRPCClient<HTTP2ClientTransport.Posix>, GRPCServer<HTTP2ServerTransport.Posix>, [Task<Void, any Error>]) {
    let serverTransport = HTTP2ServerTransport.Posix(
        address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext,
        config: .defaults {
            $0.rpc.maxRequestPayloadSize = 2 << 20
            if let frame { $0.http2.maxFrameSize = frame }
        }
    )
    let server = GRPCServer(transport: serverTransport, services: [PieceService(directory: work)])
    let serverTask = Task { try await server.serve() }
    let port = try await serverTransport.listeningAddress.ipv4?.port ?? 0
    let client = GRPCClient(
        transport: try .http2NIOPosix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
            config: .defaults { if let frame { $0.http2.maxFrameSize = frame } }
        )
    )
    let clientTask = Task { try await client.runConnections() }
    return (client, server, [serverTask, clientTask])
}
let (client, server, grpcTasks) = try await grpcPair(frame: nil)
let (largeFrames, largeServer, largeTasks) = try await grpcPair(frame: 1 << 20)

func grpcUpload(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ data: [UInt8]) async throws {
    let size = data.count
    try await client.clientStreaming(
        request: StreamingClientRequest { writer in
            try await writer.write(Array("grpc-\(size)".utf8))
            for start in stride(from: 0, to: size, by: uploadChunk) { try await writer.write(Array(data[start..<min(start + uploadChunk, size)])) }
        },
        descriptor: uploadMethod, serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
    ) { _ = try $0.message }
}

func grpcDownload(_ client: GRPCClient<HTTP2ClientTransport.Posix>, size: Int) async throws {
    let received = try await client.serverStreaming(
        request: ClientRequest(message: Array("grpc-\(size)".utf8)), descriptor: downloadMethod, serializer: RawBytes(), deserializer: RawBytes(),
        options: .defaults
    ) { response in
        var count = 0
        for try await chunk in response.messages { count += chunk.count }
        return count
    }
    precondition(received == size)
}

func column(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

print("the piece protocol's transport on loopback, one client, best of 5 (MB/s of piece bytes; ratios to HTTP/1.1):")
print("  piece             " + column("HTTP/1.1", 10) + column("gRPC", 10) + column("ratio", 8) + column("gRPC 1 MiB frames", 20) + column("ratio", 8))
for size in [4 << 20, 64 << 20] {
    let data = [UInt8]((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
    let httpUp = try await measure {
        _ = httpRequest(port: httpPort, head: "POST /upload/http-\(size)", length: size) { write in
            for start in stride(from: 0, to: size, by: uploadChunk) { write(Array(data[start..<min(start + uploadChunk, size)])) }
        }
    }
    let grpcUp = try await measure { try await grpcUpload(client, data) }
    let largeUp = try await measure { try await grpcUpload(largeFrames, data) }
    let httpDown = try await measure {
        precondition(httpRequest(port: httpPort, head: "GET /download/http-\(size)", length: 0) { _ in } == size)
    }
    let grpcDown = try await measure { try await grpcDownload(client, size: size) }
    let largeDown = try await measure { try await grpcDownload(largeFrames, size: size) }
    let megabytes = Double(size) / 1e6
    for (what, http, grpc, large) in [("upload", httpUp, grpcUp, largeUp), ("download", httpDown, grpcDown, largeDown)] {
        print(
            "  " + "\(what) \(size >> 20) MiB".padding(toLength: 16, withPad: " ", startingAt: 0)
                + column(String(format: "%.0f", megabytes / http), 10) + column(String(format: "%.0f", megabytes / grpc), 10)
                + column(String(format: "%.2fx", http / grpc), 8) + column(String(format: "%.0f", megabytes / large), 20)
                + column(String(format: "%.2fx", http / large), 8)
        )
    }
}
for (client, server) in [(client, server), (largeFrames, largeServer)] {
    client.beginGracefulShutdown()
    server.beginGracefulShutdown()
}
for task in grpcTasks + largeTasks { _ = try? await task.value }
httpTask.cancel()
try? FileManager.default.removeItem(atPath: work)

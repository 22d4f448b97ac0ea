// Piece upload and download throughput against a storagenode process on loopback, one client,
// 4 and 64 MiB pieces, beside dd writing (fsynced) and reading the same bytes on the same disk
// in the same run; and the node's peak resident memory during a 64 MiB upload. A benchmark, not
// a test: it asserts nothing. Run it through `scripts/bench pieces`.
//   piece-bench STORAGENODE-EXECUTABLE WORK-DIRECTORY
import Crypto
import Foundation
import Identity
import NodeProtocol

#if canImport(Glibc)
import Glibc
#endif

guard CommandLine.arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: piece-bench STORAGENODE WORK-DIRECTORY\n".utf8))
    exit(64)
}
let executable = CommandLine.arguments[1]
let work = CommandLine.arguments[2]
let satellite = PeerIdentity.generate()
let uplink = PeerIdentity.generate()

func run(_ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try! process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// One HTTP/1.1 request on a new loopback connection; the body is sent as `body` yields it.
func request(port: Int, path: String, length: Int, body: (([UInt8]) -> Void) -> Void, answer: (Int) -> Void) -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else { return 0 }
    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }
    send(Array("POST \(path) HTTP/1.1\r\nHost: node\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8))
    body(send)
    var head = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var status = 0
    var received = 0
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        if status == 0 {
            head += chunk[..<count]
            if let end = head.firstRange(of: Array("\r\n\r\n".utf8)) {
                status = Int(String(decoding: head[9..<12], as: UTF8.self)) ?? -1
                received += head.count - end.upperBound
            }
        } else {
            received += count
        }
    }
    answer(received)
    return status
}

func limit(_ action: OrderLimit.Action, node: NodeID, piece: PieceID, size: Int) -> OrderLimit {
    let now = Int64(Date().timeIntervalSince1970)
    return OrderLimit.signed(
        by: satellite, serial: Data((0..<16).map { _ in UInt8.random(in: 0...255) }), uplinkPublicKey: uplink.publicKeyBytes, storageNodeID: node,
        pieceID: piece, action: action, limit: Int64(size), orderExpiration: now + 3600, orderCreation: now
    )
}

let chunk = [UInt8]((0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 29) })

/// Uploads `size` bytes (the chunk again and again) as one piece; returns the seconds it took.
func upload(port: Int, node: NodeID, piece: PieceID, size: Int) -> Double {
    let order = limit(.put, node: node, piece: piece, size: size)
    var hasher = SHA256()
    var remaining = size
    while remaining > 0 {
        hasher.update(data: chunk.prefix(min(chunk.count, remaining)))
        remaining -= min(chunk.count, remaining)
    }
    let hash = PieceHash(pieceID: piece, hash: Data(hasher.finalize()), pieceSize: Int64(size), timestamp: Int64(Date().timeIntervalSince1970)).signed(with: uplink.sign)
    let frames = (size + chunk.count - 1) / chunk.count
    let length = 5 + OrderLimit.encodedSize + frames * 5 + size + 5 + PieceHash.encodedSize
    let start = DispatchTime.now().uptimeNanoseconds
    let status = request(port: port, path: "/v1/pieces/upload", length: length, body: { send in
        send([UInt8](PieceFrame.limit(order.encoded).encoded))
        var left = size
        while left > 0 {
            let count = min(chunk.count, left)
            var head: [UInt8] = [UInt8(ascii: "D")]
            withUnsafeBytes(of: UInt32(count).bigEndian) { head += $0 }
            send(head + chunk.prefix(count))
            left -= count
        }
        send([UInt8](PieceFrame.hash(hash.encoded).encoded))
    }, answer: { _ in })
    precondition(status == 200, "upload answered \(status)")
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func download(port: Int, node: NodeID, piece: PieceID, size: Int) -> Double {
    var body = [UInt8](limit(.get, node: node, piece: piece, size: size).encoded)
    for value in [Int64(0), Int64(size)] { withUnsafeBytes(of: value.bigEndian) { body += $0 } }
    var got = 0
    let start = DispatchTime.now().uptimeNanoseconds
    let status = request(port: port, path: "/v1/pieces/download", length: body.count, body: { $0(body) }, answer: { got = $0 })
    precondition(status == 200 && got == size, "download answered \(status) with \(got) of \(size) bytes")
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// dd's own figure of the seconds it took (its line "... copied, 0.151 s, 444 MB/s"), so that
/// starting a process is not counted against it.
func ddSeconds(_ arguments: [String]) -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/dd")
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try! process.run()
    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    precondition(process.terminationStatus == 0, "dd \(arguments) failed: \(text)")
    guard let copied = text.range(of: "copied, "), let seconds = Double(text[copied.upperBound...].prefix { $0 != " " }) else {
        preconditionFailure("no time in dd's output: \(text)")
    }
    return seconds
}

/// The node's peak resident memory (VmHWM) in KiB.
func peakMemory(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
}

// A node of its own, trusting this run's satellite.
let nodeDir = work + "/node"
precondition(run([executable, "setup", "--data-dir=\(nodeDir)"]) == 0)
let identity = try IdentityFile.load(from: nodeDir + "/identity.key")
let port = freePort()
let node = Process()
node.executableURL = URL(fileURLWithPath: executable)
node.arguments = [
    "run", "--config", nodeDir + "/storagenode.yaml", "--contact.satellite-id=\(satellite.id.hex)", "--contact.satellite-url=http://127.0.0.1:1",
    "--contact.interval=0s", "--server.address=127.0.0.1:\(port)", "--log.level=warning",
]
node.standardOutput = FileHandle.nullDevice
node.standardError = FileHandle.nullDevice
try node.run()
defer { node.terminate(); node.waitUntilExit() }
while request(port: port, path: "/v1/pieces/delete", length: 0, body: { _ in }, answer: { _ in }) == 0 { usleep(20_000) }

let rounds = 3
var rows: [(String, Double, Double, Double, Double)] = []
let beforeUpload = peakMemory(node.processIdentifier)
for size in [4 << 20, 64 << 20] {
    var up = Double.infinity, down = Double.infinity, ddWrite = Double.infinity, ddRead = Double.infinity
    for round in 0..<rounds {
        let piece = PieceID.random()
        up = min(up, upload(port: port, node: identity.id, piece: piece, size: size))
        down = min(down, download(port: port, node: identity.id, piece: piece, size: size))
        let file = work + "/dd-\(size)-\(round)"
        ddWrite = min(ddWrite, ddSeconds(["if=/dev/zero", "of=\(file)", "bs=256K", "count=\(size / (256 << 10))", "conv=fsync"]))
        ddRead = min(ddRead, ddSeconds(["if=\(file)", "of=/dev/null", "bs=256K"]))
        unlink(file)
    }
    let megabytes = Double(size) / 1e6
    rows.append(("\(size >> 20) MiB piece", megabytes / up, megabytes / ddWrite, megabytes / down, megabytes / ddRead))
}
let afterUploads = peakMemory(node.processIdentifier)

print("\nthe piece protocol on loopback, one client, best of \(rounds), MB/s (dd: the same bytes to the same disk, 256 KiB blocks; writes fsynced as the node's are):")
print("  piece          upload   dd write   ratio   download   dd read   ratio")
for (name, up, ddWrite, down, ddRead) in rows {
    print(String(format: "  %-12@ %8.0f %10.0f %6.2fx %10.0f %9.0f %6.2fx", name as NSString, up, ddWrite, up / ddWrite, down, ddRead, down / ddRead))
}
print("  the node's peak resident memory: \(beforeUpload / 1024) MiB before the uploads, \(afterUploads / 1024) MiB after \(rounds) uploads and downloads of 64 MiB")

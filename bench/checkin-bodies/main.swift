// Prints signed check-in bodies, one JSON object per line, for the API benchmark: wrk's Lua
// cannot sign with Ed25519. Node i (1 ... count) is on 10.(i / 256 % 256).(i % 256).0/24, and its
// key is the one commit-flow derives for node i, so that it can sign the nodes' piece hashes.
//   checkin-bodies COUNT
import Crypto
import Foundation
import Identity
import NodeProtocol

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 0 : 0
guard count > 0 else {
    FileHandle.standardError.write(Data("usage: checkin-bodies COUNT\n".utf8))
    exit(64)
}
var output = Data()
for node in 1...count {
    let address = "10.\(node / 256 % 256).\(node % 256).1:28967"
    let seed = SymmetricKey(data: SHA256.hash(data: Data("bench node \(node)".utf8)))
    let identity = PeerIdentity(privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: seed.withUnsafeBytes { Data($0) }))
    output += SignedCheckIn(identity: identity, address: address, freeDisk: 1 << 40, version: "1").json
    output += Data("\n".utf8)
}
FileHandle.standardOutput.write(output)

// The erasure code's speed, one thread, MB/s of input (the data encoded, or the data rebuilt):
// the module (ISA-L), raw ISA-L (`ec_encode_data` with its own tables, called directly with the
// pointers made once) and the module's plain Swift path, in the same run. Not a test: it asserts
// nothing. Run it through `scripts/bench erasure`.
import CISAL
import ErasureCoding
import Foundation

let rounds = 5
let inputBytes = 32 << 20

/// The best of `rounds` timings of `work`, as MB/s of `bytes`.
func rate(_ bytes: Int, _ work: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        try work()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return Double(bytes) / best / 1e6
}

func randomBytes(_ count: Int) -> UnsafeMutableRawBufferPointer {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
    var state: UInt64 = 0x5EED
    for offset in stride(from: 0, to: count - 7, by: 8) {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        buffer.storeBytes(of: state, toByteOffset: offset, as: UInt64.self)
    }
    return buffer
}

/// Raw ISA-L over `count` stripes (or one call when `count` is 1): k inputs of `length` bytes
/// at `input(stripe, i)`, n − k outputs at `output(i)`.
struct RawISAL {
    let required: Int
    let parity: Int
    var tables: [UInt8]

    init(required: Int, total: Int) {
        self.required = required
        parity = total - required
        var matrix = [UInt8](repeating: 0, count: total * required)
        gf_gen_cauchy1_matrix(&matrix, Int32(total), Int32(required))
        tables = [UInt8](repeating: 0, count: 32 * required * parity)
        var parityRows = Array(matrix[(required * required)...])
        ec_init_tables(Int32(required), Int32(parity), &parityRows, &tables)
    }
}

struct Row {
    let name: String
    let module: Double
    let raw: Double?
    let plain: Double?
    let rebuild: Double?
}

/// Per stripe of `shareSize`-byte shares over `inputBytes` of data, as an uplink encodes a segment.
func perStripe(required: Int, total: Int, shareSize: Int) throws -> Row {
    let stripeSize = required * shareSize
    let stripes = inputBytes / stripeSize
    let bytes = stripes * stripeSize
    let data = randomBytes(bytes)
    let parity = UnsafeMutableRawBufferPointer.allocate(byteCount: (total - required) * shareSize, alignment: 64)
    defer { data.deallocate(); parity.deallocate() }
    let code = try ErasureCode(required: required, total: total)
    let plain = try ErasureCode(required: required, total: total, kernel: .plain)

    let module = try rate(bytes) {
        for stripe in 0..<stripes {
            try code.encodeParity(stripe: UnsafeRawBufferPointer(rebasing: data[stripe * stripeSize..<(stripe + 1) * stripeSize]), into: parity)
        }
    }
    var raw = RawISAL(required: required, total: total)
    let rawRate = raw.tables.withUnsafeMutableBufferPointer { tables in
        let inputs = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: required)
        let outputs = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: total - required)
        defer { inputs.deallocate(); outputs.deallocate() }
        for index in 0..<(total - required) { outputs[index] = (parity.baseAddress! + index * shareSize).assumingMemoryBound(to: UInt8.self) }
        return rate(bytes) {
            for stripe in 0..<stripes {
                for index in 0..<required {
                    inputs[index] = (data.baseAddress! + stripe * stripeSize + index * shareSize).assumingMemoryBound(to: UInt8.self)
                }
                ec_encode_data(Int32(shareSize), Int32(required), Int32(total - required), tables.baseAddress!, inputs, outputs)
            }
        }
    }
    // The plain path over a tenth of the stripes, rated on what it did.
    let plainStripes = max(1, stripes / 10)
    let plainRate = try rate(plainStripes * stripeSize) {
        for stripe in 0..<plainStripes {
            try plain.encodeParity(stripe: UnsafeRawBufferPointer(rebasing: data[stripe * stripeSize..<(stripe + 1) * stripeSize]), into: parity)
        }
    }
    // Rebuild from the last k shares (no data share among them when n ≥ 2k): every data share
    // is computed, from the inversion cached after the first stripe. The shares are one stripe's,
    // read again for each stripe, as the encode reads each stripe once.
    var shares = try code.encode(stripe: Array(UnsafeRawBufferPointer(rebasing: data[0..<stripeSize])))
    shares = Array(shares.suffix(required))
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: stripeSize, alignment: 64)
    defer { out.deallocate() }
    let rebuilder = try code.rebuilder(for: shares.map(\.number))
    let rebuildRate = try withShareViews(shares) { views in
        try rate(bytes) {
            for _ in 0..<stripes { try rebuilder.rebuild(views, into: out) }
        }
    }
    return Row(name: "\(required)/\(total), \(shareSize) B shares, per stripe", module: module, raw: rawRate, plain: plainRate, rebuild: rebuildRate)
}

/// One call over `required` shards of `shardSize` bytes each, as klauspost/reedsolomon measures 10+4.
func shards(required: Int, parityCount: Int, shardSize: Int) throws -> Row {
    let total = required + parityCount
    let data = (0..<required).map { _ in UnsafeRawBufferPointer(randomBytes(shardSize)) }
    let parity = (0..<parityCount).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: shardSize, alignment: 64) }
    defer { for buffer in data { buffer.deallocate() }; for buffer in parity { buffer.deallocate() } }
    let bytes = required * shardSize
    let code = try ErasureCode(required: required, total: total)
    let plain = try ErasureCode(required: required, total: total, kernel: .plain)
    let module = try rate(bytes) { try code.encodeParity(shares: data, into: parity) }
    var raw = RawISAL(required: required, total: total)
    let rawRate = raw.tables.withUnsafeMutableBufferPointer { tables in
        let inputs = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: required)
        let outputs = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: parityCount)
        defer { inputs.deallocate(); outputs.deallocate() }
        for index in 0..<required { inputs[index] = UnsafeMutableRawPointer(mutating: data[index].baseAddress!).assumingMemoryBound(to: UInt8.self) }
        for index in 0..<parityCount { outputs[index] = parity[index].baseAddress!.assumingMemoryBound(to: UInt8.self) }
        return rate(bytes) {
            ec_encode_data(Int32(shardSize), Int32(required), Int32(parityCount), tables.baseAddress!, inputs, outputs)
        }
    }
    let plainRate = try rate(bytes) { try plain.encodeParity(shares: data, into: parity) }
    // Rebuild the first `parityCount` data shards from the rest and the parity, into buffers of
    // their own (ISA-L's decoding); rated on the data of the whole stripe, as the encode is.
    try code.encodeParity(shares: data, into: parity)
    var views = (parityCount..<required).map { ShareView(number: $0, bytes: data[$0]) }
    views += (0..<parityCount).map { ShareView(number: required + $0, bytes: UnsafeRawBufferPointer(parity[$0])) }
    let rebuilder = try code.rebuilder(for: views.map(\.number))
    let lost = (0..<parityCount).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: shardSize, alignment: 64) }
    defer { for buffer in lost { buffer.deallocate() } }
    let rebuildRate = try rate(bytes) { try rebuilder.rebuildMissing(views, into: lost) }
    precondition(zip(lost, data).allSatisfy { Array($0) == Array($1) }, "the rebuilt shards differ")
    return Row(name: "\(required)+\(parityCount), \(shardSize >> 20) MiB shards, one call", module: module, raw: rawRate, plain: plainRate, rebuild: rebuildRate)
}

func withShareViews<Result>(_ shares: [Share], _ body: ([ShareView]) throws -> Result) rethrows -> Result {
    let buffers = shares.map { share in
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: share.bytes.count, alignment: 64)
        buffer.copyBytes(from: share.bytes)
        return buffer
    }
    defer { for buffer in buffers { buffer.deallocate() } }
    return try body(zip(shares, buffers).map { ShareView(number: $0.number, bytes: UnsafeRawBufferPointer($1)) })
}

let rows = try [
    perStripe(required: 29, total: 110, shareSize: 256),
    perStripe(required: 4, total: 10, shareSize: 256),
    shards(required: 10, parityCount: 4, shardSize: 1 << 20),
]
func figure(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "-" }
print("\nthe erasure code, one thread, MB/s of input (best of \(rounds); encode per stripe over \(inputBytes >> 20) MiB):")
print("  " + "shape".padding(toLength: 38, withPad: " ", startingAt: 0) + "   module   raw ISA-L   module/raw   plain Swift   module/plain   rebuild   rebuild time / encode")
for row in rows {
    let line = [
        row.name.padding(toLength: 38, withPad: " ", startingAt: 0),
        figure(row.module).leftPadded(8), figure(row.raw).leftPadded(11),
        (row.raw.map { String(format: "%.0f%%", 100 * row.module / $0) } ?? "-").leftPadded(12),
        figure(row.plain).leftPadded(13),
        (row.plain.map { String(format: "%.1fx", row.module / $0) } ?? "-").leftPadded(14),
        figure(row.rebuild).leftPadded(9),
        (row.rebuild.map { String(format: "%.2fx", row.module / $0) } ?? "-").leftPadded(21),
    ]
    print("  " + line.joined(separator: " "))
}
print("  (rebuild, with the inversion made once: per stripe, every data share from the last k shares; for the shards, the 4 lost data shards")
print("   from the other 6 and the parity. The last column is the rebuild's time over the encode's)")

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

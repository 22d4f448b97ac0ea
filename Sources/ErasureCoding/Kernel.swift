import CISAL

/// The loop that multiplies shares by coefficients and adds them up, where an erasure code spends
/// its time.
public enum Kernel: Sendable, CaseIterable, CustomStringConvertible {
    /// Intel ISA-L's `ec_encode_data`, which picks its SIMD code (SSE, AVX2, AVX-512, GFNI) for the
    /// CPU it runs on.
    case isal
    /// The same arithmetic as a plain Swift loop over a table of products: the reference that the
    /// tests hold ISA-L to, byte for byte, and the baseline of the benchmark.
    case plain

    public var description: String {
        switch self {
        case .isal: "ISA-L"
        case .plain: "plain Swift"
        }
    }
}

/// Coefficient rows ready for a kernel: output `r` = Σⱼ `matrix[r, j]` · input `j`.
struct CodingRows: Sendable {
    let matrix: GaloisMatrix
    let kernel: Kernel
    /// ISA-L's expanded form of `matrix` (32 bytes per coefficient), made once.
    private let tables: [UInt8]

    init(_ matrix: GaloisMatrix, kernel: Kernel) {
        self.matrix = matrix
        self.kernel = kernel
        switch kernel {
        case .plain:
            tables = []
        case .isal:
            var expanded = [UInt8](repeating: 0, count: 32 * max(1, matrix.rows * matrix.columns))
            var coefficients = matrix.elements
            if matrix.rows > 0 {
                ec_init_tables(Int32(matrix.columns), Int32(matrix.rows), &coefficients, &expanded)
            }
            tables = expanded
        }
    }

    /// Computes every output row over `length` bytes. `inputs` has `matrix.columns` pointers and
    /// `outputs` `matrix.rows`, each to `length` bytes; outputs are overwritten, not added to.
    func apply(
        inputs: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
        outputs: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
        length: Int
    ) {
        guard matrix.rows > 0, length > 0 else { return }
        switch kernel {
        case .isal:
            tables.withUnsafeBufferPointer { expanded in
                ec_encode_data(
                    Int32(length), Int32(matrix.columns), Int32(matrix.rows),
                    UnsafeMutablePointer(mutating: expanded.baseAddress!), inputs, outputs
                )
            }
        case .plain:
            GaloisField.products.withUnsafeBufferPointer { products in
                for row in 0..<matrix.rows {
                    let output = outputs[row]!
                    output.initialize(repeating: 0, count: length)
                    for column in 0..<matrix.columns {
                        let coefficient = matrix[row, column]
                        guard coefficient != 0 else { continue }
                        let input = inputs[column]!
                        let product = products.baseAddress! + Int(coefficient) << 8
                        for index in 0..<length { output[index] ^= product[Int(input[index])] }
                    }
                }
            }
        }
    }
}

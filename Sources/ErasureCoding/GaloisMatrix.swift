/// A matrix over GF(2^8), row-major: the code's encoding matrix, its inverted submatrices, and the
/// Berlekamp–Welch systems of error correction.
struct GaloisMatrix: Equatable, Sendable {
    let rows: Int
    let columns: Int
    var elements: [UInt8]

    init(rows: Int, columns: Int, elements: [UInt8]? = nil) {
        self.rows = rows
        self.columns = columns
        self.elements = elements ?? [UInt8](repeating: 0, count: rows * columns)
        precondition(self.elements.count == rows * columns)
    }

    static func identity(_ size: Int) -> GaloisMatrix {
        var matrix = GaloisMatrix(rows: size, columns: size)
        for index in 0..<size { matrix[index, index] = 1 }
        return matrix
    }

    subscript(row: Int, column: Int) -> UInt8 {
        get { elements[row * columns + column] }
        set { elements[row * columns + column] = newValue }
    }

    /// The rows at `indices`, in that order.
    func selecting(rows indices: some Sequence<Int>) -> GaloisMatrix {
        var picked: [UInt8] = []
        for row in indices { picked += elements[row * columns..<(row + 1) * columns] }
        return GaloisMatrix(rows: picked.count / max(columns, 1), columns: columns, elements: picked)
    }

    static func * (left: GaloisMatrix, right: GaloisMatrix) -> GaloisMatrix {
        precondition(left.columns == right.rows)
        var product = GaloisMatrix(rows: left.rows, columns: right.columns)
        let width = right.columns
        GaloisField.products.withUnsafeBufferPointer { products in
            right.elements.withUnsafeBufferPointer { rightRows in
                product.elements.withUnsafeMutableBufferPointer { out in
                    for row in 0..<left.rows {
                        for inner in 0..<left.columns {
                            let factor = Int(left.elements[row * left.columns + inner]) << 8
                            guard factor != 0 else { continue }
                            for column in 0..<width {
                                out[row * width + column] ^= products[factor | Int(rightRows[inner * width + column])]
                            }
                        }
                    }
                }
            }
        }
        return product
    }

    /// The inverse, by Gauss–Jordan elimination; nil when the matrix is singular.
    func inverted() -> GaloisMatrix? {
        precondition(rows == columns)
        var work = self
        var inverse = GaloisMatrix.identity(rows)
        for pivotColumn in 0..<columns {
            guard let pivotRow = (pivotColumn..<rows).first(where: { work[$0, pivotColumn] != 0 }) else { return nil }
            if pivotRow != pivotColumn {
                work.swapRows(pivotRow, pivotColumn)
                inverse.swapRows(pivotRow, pivotColumn)
            }
            let scale = GaloisField.inverse(work[pivotColumn, pivotColumn])
            work.scaleRow(pivotColumn, by: scale)
            inverse.scaleRow(pivotColumn, by: scale)
            for row in 0..<rows where row != pivotColumn && work[row, pivotColumn] != 0 {
                let factor = work[row, pivotColumn]
                work.addRow(pivotColumn, times: factor, to: row)
                inverse.addRow(pivotColumn, times: factor, to: row)
            }
        }
        return inverse
    }

    mutating func swapRows(_ a: Int, _ b: Int) {
        for column in 0..<columns { elements.swapAt(a * columns + column, b * columns + column) }
    }

    mutating func scaleRow(_ row: Int, by factor: UInt8) {
        let width = columns
        GaloisField.products.withUnsafeBufferPointer { products in
            elements.withUnsafeMutableBufferPointer { cells in
                let table = products.baseAddress! + Int(factor) << 8
                for column in 0..<width { cells[row * width + column] = table[Int(cells[row * width + column])] }
            }
        }
    }

    /// Row `target` += `factor` × row `source` (addition is XOR).
    mutating func addRow(_ source: Int, times factor: UInt8, to target: Int) {
        let width = columns
        GaloisField.products.withUnsafeBufferPointer { products in
            elements.withUnsafeMutableBufferPointer { cells in
                let row = products.baseAddress! + Int(factor) << 8
                for column in 0..<width { cells[target * width + column] ^= row[Int(cells[source * width + column])] }
            }
        }
    }
}

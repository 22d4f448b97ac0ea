import Foundation
import Synchronization

/// The bytes a copy has moved, drawn on standard error as a bar with the rate when standard error
/// is a terminal, and not at all otherwise (a script piping the output reads only the data).
/// Redraws at most four times a second, from a task of its own; ``finish()`` draws the total.
final class ProgressMeter: Sendable {
    private struct Counts {
        var bytes = 0
        var drawnWidth = 0
    }

    private let total: Int?
    private let started = ContinuousClock.now
    private let counts = Mutex(Counts())
    private let drawing = Mutex<Task<Void, Never>?>(nil)

    /// A meter of a copy of `total` bytes (nil when unknown), drawn only on a terminal.
    init(total: Int?, onTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.total = total
        guard onTerminal else { return }
        let task = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                if !Task.isCancelled { draw(final: false) }
            }
        }
        drawing.withLock { $0 = task }
    }

    /// Counts `count` more bytes moved.
    func add(_ count: Int) {
        counts.withLock { $0.bytes += count }
    }

    /// Stops redrawing and, on a terminal, ends the bar with the bytes, the time and the rate.
    func finish() {
        guard let task = drawing.withLock({ $0.take() }) else { return }
        task.cancel()
        draw(final: true)
    }

    private func draw(final: Bool) {
        let elapsed = ContinuousClock.now - started
        let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let line = counts.withLock { counts -> String in
            let rate = Self.size(Int(Double(counts.bytes) / seconds)) + "/s"
            var text: String
            if let total, total > 0 {
                let done = min(1, Double(counts.bytes) / Double(total))
                let filled = Int(done * 30)
                text = "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: 30 - filled) + "] "
                text += String(format: "%3d%% ", Int(done * 100)) + Self.size(counts.bytes) + " of " + Self.size(total) + "  " + rate
            } else {
                text = Self.size(counts.bytes) + "  " + rate
            }
            if final { text += String(format: "  %.1f s", seconds) }
            let padded = text.padding(toLength: max(text.count, counts.drawnWidth), withPad: " ", startingAt: 0)
            counts.drawnWidth = text.count
            return "\r" + padded + (final ? "\n" : "")
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Bytes in the largest binary unit under which they are at least 1.
    static func size(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f ", value) + units[unit]
    }
}

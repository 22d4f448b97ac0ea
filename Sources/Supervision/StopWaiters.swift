import Synchronization

/// Callers waiting for something to stop, each with its own deadline: the one mechanism behind
/// every `waitUntilStopped`.
///
/// A waiter registers before it looks, and whoever removes it first (the notifier, the waiter's
/// own look, its timeout, or its cancellation) resumes it, so no stop can slip between a look and
/// a registration.
final class StopWaiters: Sendable {
    private struct Entry {
        let key: String
        let continuation: CheckedContinuation<Bool, Never>
    }

    private let state = Mutex<(entries: [Int: Entry], next: Int)>(([:], 0))

    /// Waits until `isStopped` holds for `key`, for at most `timeout`; returns whether it did.
    /// Cancellation ends the wait early with the answer at that moment.
    func wait(for key: String, timeout: Duration, isStopped: @escaping @Sendable () -> Bool) async -> Bool {
        if isStopped() { return true }
        let id = state.withLock { state in
            state.next += 1
            return state.next
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(id, with: isStopped())
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                state.withLock { $0.entries[id] = Entry(key: key, continuation: continuation) }
                if isStopped() { resume(id, with: true) }
            }
        } onCancel: {
            resume(id, with: isStopped())
        }
    }

    /// Resumes, with true, everyone waiting for one of `keys`.
    func stopped(_ keys: Set<String>) {
        let continuations = state.withLock { state in
            let ids = state.entries.filter { keys.contains($0.value.key) }.map(\.key)
            return ids.compactMap { state.entries.removeValue(forKey: $0)?.continuation }
        }
        for continuation in continuations { continuation.resume(returning: true) }
    }

    private func resume(_ id: Int, with value: Bool) {
        state.withLock { $0.entries.removeValue(forKey: id) }?.continuation.resume(returning: value)
    }
}

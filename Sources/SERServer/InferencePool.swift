import Foundation
import Dispatch
import HTTPTypes
import SERNumerics

/// Bounds how many recognitions run at once and how many may wait, and runs
/// them on their own threads so the server's event loops never block on
/// CPU-bound work.
///
/// A request waits in line (first come, first served) for a free slot; when the
/// line is full, or the wait passes `queueTimeout`, it is refused with 503 and a
/// `Retry-After` so the client can back off.
public actor InferencePool {
    /// Recognitions that run at once (one per core by default).
    public let slots: Int
    /// Requests that may wait for a slot; one more is refused with 503.
    public let maxQueued: Int
    /// How long a request may wait for a slot before it is refused with 503.
    public let queueTimeout: Duration

    private var running = 0
    private var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0
    private let queue = DispatchQueue(label: "ser.inference", attributes: .concurrent)

    /// A pool of `slots` (at least 1) with a line of up to `maxQueued` requests that wait at most `queueTimeout`.
    public init(slots: Int, maxQueued: Int, queueTimeout: Duration) {
        self.slots = max(1, slots)
        self.maxQueued = max(0, maxQueued)
        self.queueTimeout = queueTimeout
    }

    /// Recognitions running and waiting now.
    public var load: (running: Int, queued: Int) { (running, waiting.count) }

    /// Runs `work` on an inference thread once a slot is free.
    ///
    /// A recognition that starts while no other runs or waits may split its
    /// encoder over every slot's core (`withWorkThreads`; at most the machine's
    /// cores), so one request or
    /// one live stream is answered sooner; under load each keeps one core.
    public func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await acquire()
        defer { release() }
        let threads = running == 1 && waiting.isEmpty ? min(slots, ProcessInfo.processInfo.activeProcessorCount) : 1
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try withWorkThreads(threads) { try work() } })
            }
        }
    }

    private func acquire() async throws {
        if running < slots && waiting.isEmpty {
            running += 1
            return
        }
        guard waiting.count < maxQueued else { throw Self.busy("all \(slots) inference slots are busy and \(maxQueued) requests are waiting") }
        nextID &+= 1
        let id = nextID
        let timeout = queueTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.expire(id)
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { continuation in
            waiting.append((id, continuation))
        }
    }

    private func expire(_ id: UInt64) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        let entry = waiting.remove(at: index)
        entry.continuation.resume(throwing: Self.busy("no inference slot became free within \(queueTimeout)"))
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            // The slot passes straight to the next in line.
            waiting.removeFirst().continuation.resume()
        }
    }

    private static func busy(_ reason: String) -> APIError {
        APIError(.serviceUnavailable, "the server is busy (\(reason)); retry in a few seconds", headers: [.retryAfter: "2"])
    }
}

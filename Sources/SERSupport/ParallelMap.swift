import Foundation
import Synchronization

/// The number of worker threads batch jobs use by default: one per core.
public var defaultWorkerCount: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

/// Computes `transform(i)` for `0..<count` on up to `workers` threads and returns
/// the results in index order.
///
/// Work is handed out one index at a time, so a slow item (a long file) does not
/// hold back the others. `onCompletion` runs after each item (on a worker thread,
/// serialised) and is meant for progress reporting.
public func parallelMap<Element: Sendable>(
    count: Int,
    workers: Int = defaultWorkerCount,
    onCompletion: (@Sendable (_ finished: Int) -> Void)? = nil,
    _ transform: @Sendable (Int) -> Element
) -> [Element] {
    guard count > 0 else { return [] }
    let state = Mutex(ParallelMapState<Element>(results: Array(repeating: nil, count: count)))
    let threadCount = min(max(1, workers), count)
    withoutActuallyEscaping(transform) { transform in
        DispatchQueue.concurrentPerform(iterations: threadCount) { _ in
            while true {
                let index: Int? = state.withLock { s in
                    guard s.nextIndex < count else { return nil }
                    defer { s.nextIndex += 1 }
                    return s.nextIndex
                }
                guard let index else { return }
                let value = transform(index)
                state.withLock { s in
                    s.results[index] = value
                    s.finished += 1
                    onCompletion?(s.finished)
                }
            }
        }
    }
    return state.withLock { s in s.results.map { $0! } }
}

private struct ParallelMapState<Element> {
    var results: [Element?]
    var nextIndex = 0
    var finished = 0
}

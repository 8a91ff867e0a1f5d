import COpenBLAS

/// Limits OpenBLAS to one thread per call.
///
/// Call it once at the start of batch work that runs one file per core
/// (`ParallelMap`): BLAS's own threads would then only compete with them.
/// Leave it alone for one large product at a time (training a network on one
/// batch), where BLAS's threads are the parallelism.
public func useSingleThreadedBLAS() {
    openblas_set_num_threads(1)
}

/// Lets OpenBLAS use `count` threads per call (at least one).
public func useBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}

/// How many threads OpenBLAS may use per call now: code that splits its own
/// work (the encoder's attention heads) splits it as many ways.
public func blasThreadCount() -> Int {
    Int(openblas_get_num_threads())
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-thread budget that `withWorkThreads` sets; 0 when none is set.
private let workThreadsKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// How many threads code that splits its own work (the speech encoder's dense
/// layers, attention heads and GELU) may use for a call made on this thread:
/// the budget `withWorkThreads` set around it, or else OpenBLAS's thread count.
public func workThreadCount() -> Int {
    let budget = Int(bitPattern: pthread_getspecific(workThreadsKey))
    return budget > 0 ? budget : blasThreadCount()
}

/// Runs `body` on this thread with a budget of `count` threads (at least one)
/// for code that splits its own work, then restores the budget it had.
///
/// One recording answered while the other cores are idle (a lone server
/// request, a live stream) runs its encoder over every core this way; batch
/// work keeps one file per core and the default budget of OpenBLAS's thread
/// count (one, in `ser`). Other threads' budgets are untouched.
public func withWorkThreads<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
    let previous = pthread_getspecific(workThreadsKey)
    pthread_setspecific(workThreadsKey, UnsafeRawPointer(bitPattern: max(1, count)))
    defer { pthread_setspecific(workThreadsKey, previous) }
    return try body()
}

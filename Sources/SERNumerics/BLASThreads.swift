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

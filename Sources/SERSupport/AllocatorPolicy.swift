#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator settings for batch work.
public enum AllocatorPolicy {
    /// Serves allocations up to 32 MiB from the reusable heap instead of fresh
    /// `mmap`s. Feature extraction allocates a few MiB per file; with glibc's
    /// default (128 KiB) every file costs new pages, page faults and contention
    /// on the kernel's memory lock between threads (measured: about 25 % of
    /// `classic180` time on one core). Programs call this once at start-up; a
    /// library should leave the choice to its host.
    ///
    /// - Returns: whether the allocator accepted the settings.
    @discardableResult
    public static func keepBatchBuffersOnHeap() -> Bool {
        #if canImport(Glibc)
        // mallopt is not exported by Swift's Glibc module; look it up as a C function.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        return mallopt(mmapThreshold, 32 << 20) == 1 && mallopt(trimThreshold, 64 << 20) == 1
        #else
        return false
        #endif
    }
}

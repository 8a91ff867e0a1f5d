import Foundation
import SERNumerics
import Synchronization
import Testing

@Suite struct WorkThreadsTests {
    /// A budget holds on its own thread for the length of the call, nests, and is
    /// restored afterwards; another thread keeps its own.
    @Test func aBudgetHoldsOnItsThreadForTheCall() {
        let outside = workThreadCount()
        #expect(outside == blasThreadCount(), "without a budget, code splits as OpenBLAS does")
        let seen = withWorkThreads(3) { () -> [Int] in
            let inner = withWorkThreads(2) { workThreadCount() }
            let other = Mutex(0)
            let done = DispatchSemaphore(value: 0)
            Thread { other.withLock { $0 = workThreadCount() }; done.signal() }.start()
            done.wait()
            return [workThreadCount(), inner, other.withLock { $0 }]
        }
        #expect(seen == [3, 2, blasThreadCount()])
        #expect(workThreadCount() == outside)
        #expect(withWorkThreads(0) { workThreadCount() } == 1, "a budget is at least one thread")
    }
}

import Foundation

/// Turns SIGTERM and SIGINT into calls of a handler, whatever signal mask
/// ser was started with. (A dispatch signal source on Linux reads a signalfd,
/// which only sees signals every thread blocks: started by Python, which blocks
/// none, `ser serve` never heard SIGTERM.) The C handler only writes the
/// signal's number to a pipe; a thread of its own, which unblocks the signals so
/// that one thread at least takes them, reads the pipe and calls the handler.
enum ShutdownSignals {
    nonisolated(unsafe) private static var writeEnd: Int32 = -1

    /// Installs the handler for `numbers`; `onSignal` runs on a background thread, once per signal.
    static func install(_ numbers: [Int32], onSignal: @escaping @Sendable (Int32) -> Void) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        writeEnd = ends[1]
        for number in numbers {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(ShutdownSignals.writeEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
        let readEnd = ends[0]
        Thread.detachNewThread {
            // A parent may start ser with these signals blocked (every thread inherits the
            // mask, and a blocked signal stays pending for ever): this thread takes them.
            var wanted = sigset_t()
            sigemptyset(&wanted)
            for number in numbers { sigaddset(&wanted, number) }
            pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) == 1 { onSignal(Int32(byte)) }
        }
    }
}

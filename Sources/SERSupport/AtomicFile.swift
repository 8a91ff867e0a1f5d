import Foundation
import Synchronization

/// Writes files so that a reader never sees a half-written one.
///
/// Content goes to a hidden temporary file in the destination's own directory
/// (same file system, so `rename(2)` is atomic), is flushed to disk, and only
/// then replaces the destination. If the writer throws or the process dies, the
/// destination is untouched; a stale temporary file is all that can remain, and
/// it is removed when the writer fails normally.
public enum AtomicFile {
    /// Errors from atomic writes, naming the destination.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case cannotCreateTemporary(destination: String, reason: String)
        case cannotReplace(destination: String, reason: String)

        public var description: String {
            switch self {
            case .cannotCreateTemporary(let destination, let reason):
                return "cannot write \(destination): \(reason). Check that the directory exists and is writable."
            case .cannotReplace(let destination, let reason):
                return "cannot replace \(destination): \(reason). Check permissions on the destination directory."
            }
        }
    }

    /// Calls `body` with the path of a fresh temporary file beside `destination`,
    /// then atomically moves it into place once `body` returns.
    ///
    /// - Parameters:
    ///   - destination: the final path.
    ///   - body: writes the complete content to the given temporary path.
    /// - Returns: whatever `body` returns.
    @discardableResult
    public static func write<Result>(
        to destination: String,
        _ body: (_ temporaryPath: String) throws -> Result
    ) throws -> Result {
        let directory = (destination as NSString).deletingLastPathComponent
        let name = (destination as NSString).lastPathComponent
        let dir = directory.isEmpty ? "." : directory
        var template = Array("\(dir)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw Failure.cannotCreateTemporary(destination: destination, reason: String(cString: strerror(errno)))
        }
        close(fd)
        let temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        pending.withLock { _ = $0.insert(temporaryPath) }
        defer { pending.withLock { _ = $0.remove(temporaryPath) } }
        do {
            let result = try body(temporaryPath)
            if isSpecialFile(destination) {
                // A device or pipe (/dev/null, /dev/stdout, a FIFO) is written through, never
                // replaced: renaming onto /dev/null as root would make it a regular file.
                try copyContents(of: temporaryPath, into: destination)
                unlink(temporaryPath)
                return result
            }
            try syncFile(at: temporaryPath, destination: destination)
            // mkstemp creates 0600; give the result the usual permissions.
            let mask = umask(0); umask(mask)
            chmod(temporaryPath, 0o666 & ~mask)
            guard rename(temporaryPath, destination) == 0 else {
                throw Failure.cannotReplace(destination: destination, reason: String(cString: strerror(errno)))
            }
            syncDirectory(dir)
            return result
        } catch {
            unlink(temporaryPath)
            throw error
        }
    }

    /// Whether `path` exists and is a character or block device, a FIFO or a socket.
    public static func isSpecialFile(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        let kind = status.st_mode & S_IFMT
        return kind == S_IFCHR || kind == S_IFBLK || kind == S_IFIFO || kind == S_IFSOCK
    }

    private static func copyContents(of source: String, into destination: String) throws {
        guard let input = FileHandle(forReadingAtPath: source), let output = FileHandle(forWritingAtPath: destination) else {
            throw Failure.cannotReplace(destination: destination, reason: "cannot open it for writing")
        }
        defer { try? input.close(); try? output.close() }
        do {
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
        } catch {
            throw Failure.cannotReplace(destination: destination, reason: "\(error)")
        }
    }

    /// Atomically replaces `destination` with `data`.
    public static func write(_ data: Data, to destination: String) throws {
        try write(to: destination) { temporaryPath in
            guard FileManager.default.createFile(atPath: temporaryPath, contents: data) else {
                throw Failure.cannotCreateTemporary(destination: destination, reason: "write failed")
            }
        }
    }

    /// Temporary files being written right now, removed if the process is interrupted.
    private static let pending = Mutex<Set<String>>([])
    private static let signalSources = Mutex<[DispatchSourceSignal]>([])

    /// Makes SIGINT, SIGTERM and SIGHUP remove every temporary file still being
    /// written, then end the process with the usual status 128 + signal.
    /// Call once at start-up in programs that write files.
    public static func removeTemporaryFilesOnInterrupt() {
        signalSources.withLock { sources in
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler {
                    let paths = pending.withLock { $0 }
                    for path in paths { unlink(path) }
                    // Die by the signal so the parent sees it; libdispatch keeps it
                    // blocked, so unblock first, and fall back to the shell's 128 + n.
                    signal(signalNumber, SIG_DFL)
                    var set = sigset_t()
                    sigemptyset(&set)
                    sigaddset(&set, signalNumber)
                    pthread_sigmask(SIG_UNBLOCK, &set, nil)
                    raise(signalNumber)
                    _exit(128 + signalNumber)
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    private static func syncFile(at path: String, destination: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw Failure.cannotCreateTemporary(destination: destination, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw Failure.cannotCreateTemporary(destination: destination, reason: "fsync: \(String(cString: strerror(errno)))")
        }
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// `value` as compact JSON with sorted keys (stable text for metadata and fingerprints); empty when it cannot be encoded.
public func sortedJSONText<Value: Encodable>(_ value: Value) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
}

import Foundation

/// Decodes anything libsndfile cannot (MP4/M4A/AAC, WebM, MOV, the corpora's
/// video files) by running `ffprobe` and then `ffmpeg` as subprocesses.
///
/// The programs get an argument vector (no shell) and a `file:` URL, so no path
/// can be mistaken for an option or a network protocol. ffmpeg streams raw
/// little-endian float32 PCM at the native rate and channel count through a
/// pipe; its diagnostics go to a temporary file that becomes the error text.
public final class FFmpegSource: AudioSource {
    public let streamDescription: AudioStreamDescription
    private let process: Process
    private let output: FileHandle
    private let diagnosticsPath: String
    private let absolutePath: String
    private var pendingBytes: [UInt8] = []
    private var finished = false
    private var closed = false

    /// Whether `ffmpeg` and `ffprobe` are on the `PATH`.
    public static var isAvailable: Bool {
        executablePath("ffmpeg") != nil && executablePath("ffprobe") != nil
    }

    /// Probes `path` and starts decoding it.
    public init(path: String) throws {
        guard let ffmpeg = Self.executablePath("ffmpeg"), let ffprobe = Self.executablePath("ffprobe") else {
            throw AudioError.ffmpegUnavailable(path: path)
        }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        self.absolutePath = absolute
        let description = try Self.probe(path: path, absolutePath: absolute, ffprobe: ffprobe)
        try StreamLimits.validate(description)
        self.streamDescription = description

        let diagnostics = FileManager.default.temporaryDirectory
            .appendingPathComponent("ser-ffmpeg-\(UUID().uuidString).log").path
        guard FileManager.default.createFile(atPath: diagnostics, contents: nil),
              let diagnosticsHandle = FileHandle(forWritingAtPath: diagnostics) else {
            throw AudioError.ffmpegFailed(path: path, reason: "cannot create a temporary file for its messages")
        }
        self.diagnosticsPath = diagnostics

        let pipe = Pipe()
        let process = Self.subprocess(ffmpeg, arguments: [
            "-nostdin", "-hide_banner", "-loglevel", "error",
            "-i", "file:" + absolute,
            "-map", "0:a:0", "-vn", "-sn", "-dn",
            "-f", "f32le", "-acodec", "pcm_f32le",
            "-ac", String(description.channels), "-ar", String(description.sampleRate),
            "pipe:1",
        ], standardOutput: pipe, standardError: diagnosticsHandle)
        do {
            try process.run()
        } catch {
            try? diagnosticsHandle.close()
            unlink(diagnostics)
            throw AudioError.ffmpegFailed(path: path, reason: "cannot start ffmpeg: \(error)")
        }
        try? diagnosticsHandle.close()
        try? pipe.fileHandleForWriting.close()
        self.process = process
        self.output = pipe.fileHandleForReading
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        if process.isRunning {
            process.terminate()
        }
        try? output.close()
        process.waitUntilExit()
        unlink(diagnosticsPath)
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard !finished, !closed, let base = buffer.baseAddress else { return 0 }
        let channels = streamDescription.channels
        let frameBytes = channels * MemoryLayout<Float>.size
        let capacityBytes = (buffer.count / channels) * frameBytes
        guard capacityBytes > 0 else { return 0 }
        let raw = UnsafeMutableRawPointer(base)

        // Carry over a partial frame from the previous read.
        var filled = pendingBytes.count
        if filled > 0 {
            pendingBytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: filled) }
            pendingBytes.removeAll(keepingCapacity: true)
        }
        let fd = output.fileDescriptor
        while filled < frameBytes {
            let n = Foundation.read(fd, raw + filled, capacityBytes - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw AudioError.ffmpegFailed(path: streamDescription.path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            filled += n
        }
        let frames = filled / frameBytes
        let leftover = filled - frames * frameBytes
        if leftover > 0 {
            pendingBytes = Array(UnsafeRawBufferPointer(start: raw + frames * frameBytes, count: leftover))
        }
        if frames > 0 { return frames }

        finished = true
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw AudioError.ffmpegFailed(path: streamDescription.path, reason: diagnostics())
        }
        return 0
    }

    private func diagnostics() -> String {
        let text = ((try? String(contentsOfFile: diagnosticsPath, encoding: .utf8)) ?? "")
            .replacingOccurrences(of: "file:" + absolutePath + ": ", with: "")
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if lines.isEmpty { return "exit status \(process.terminationStatus)" }
        return lines.suffix(3).joined(separator: "; ")
    }

    // MARK: Probing

    private struct ProbeOutput: Decodable {
        struct Stream: Decodable {
            var codec_name: String?
            var codec_long_name: String?
            var sample_rate: String?
            var channels: Int?
            var duration: String?
        }
        struct Format: Decodable {
            var format_name: String?
            var duration: String?
        }
        var streams: [Stream]?
        var format: Format?
    }

    private static func probe(path: String, absolutePath: String, ffprobe: String) throws -> AudioStreamDescription {
        let stdout = Pipe()
        let stderr = Pipe()
        let process = subprocess(ffprobe, arguments: [
            "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
            "-select_streams", "a:0", "file:" + absolutePath,
        ], standardOutput: stdout, standardError: stderr)
        do {
            try process.run()
        } catch {
            throw AudioError.ffmpegFailed(path: path, reason: "cannot start ffprobe: \(error)")
        }
        // ffprobe's JSON is small; read stderr on another thread so neither pipe can fill up.
        let errorBox = DataBox()
        let errorRead = DispatchSemaphore(value: 0)
        let errorHandle = stderr.fileHandleForReading
        // `readToEnd()` throws where `readDataToEndOfFile()` would trap (a read error on the pipe,
        // seen once as EBADF under parallel batches): the file then fails, and the batch goes on.
        Thread {
            errorBox.data = (try? errorHandle.readToEnd()) ?? Data()
            errorRead.signal()
        }.start()
        let read = Result { try stdout.fileHandleForReading.readToEnd() ?? Data() }
        process.waitUntilExit()
        errorRead.wait()
        guard case .success(let data) = read else {
            throw AudioError.ffmpegFailed(path: path, reason: "reading ffprobe's output failed (\(String(describing: read))); try again")
        }
        let message = String(decoding: errorBox.data ?? Data(), as: UTF8.self)
            .replacingOccurrences(of: "file:" + absolutePath + ": ", with: "")
            .split(separator: "\n").suffix(2).joined(separator: "; ")

        guard process.terminationStatus == 0,
              let parsed = try? JSONDecoder().decode(ProbeOutput.self, from: data)
        else {
            throw AudioError.unsupportedFormat(
                path: path, reason: message.isEmpty ? "ffprobe found no media in it" : "ffprobe: \(message)")
        }
        guard let stream = parsed.streams?.first else {
            throw AudioError.unsupportedFormat(path: path, reason: "the file has no audio stream")
        }
        guard let rateText = stream.sample_rate, let rate = Int(rateText), let channels = stream.channels else {
            throw AudioError.invalidStreamLayout(path: path, reason: "ffprobe reports no sample rate or channel count")
        }
        let container = (parsed.format?.format_name ?? "unknown")
            .split(separator: ",").first.map(String.init) ?? "unknown"
        let seconds = (stream.duration ?? parsed.format?.duration).flatMap(Double.init)
        let estimate = seconds.flatMap { $0.isFinite && $0 > 0 && $0 < 1e7 ? Int64($0 * Double(rate)) : nil }
        return AudioStreamDescription(
            path: path,
            container: containerDisplayName(container),
            codec: (stream.codec_name ?? "unknown").uppercased(),
            sampleRate: rate,
            channels: channels,
            declaredFrames: nil,
            estimatedFrames: estimate,
            decoder: .ffmpeg
        )
    }

    private static func containerDisplayName(_ ffmpegName: String) -> String {
        switch ffmpegName {
        case "mov": return "MP4/MOV"
        case "matroska": return "Matroska/WebM"
        default: return ffmpegName.uppercased()
        }
    }

    /// A process for `executable` with an argument vector (no shell) and no standard input.
    private static func subprocess(_ executable: String, arguments: [String],
                                   standardOutput: Any, standardError: Any) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = standardOutput
        process.standardError = standardError
        process.standardInput = FileHandle.nullDevice
        return process
    }

    static func executablePath(_ name: String) -> String? {
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in searchPath.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A one-shot slot a helper thread fills.
private final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Data?
    var data: Data? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

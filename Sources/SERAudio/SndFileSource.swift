import CSndFile
import Foundation

/// Decodes with libsndfile, in process: WAV (every PCM and float flavour,
/// WAVE_FORMAT_EXTENSIBLE, extra chunks), RF64, W64, AIFF/AIFC, FLAC, OGG
/// Vorbis/Opus, MP3, AU, CAF.
///
/// Integer PCM is normalised to [-1, 1) the way `soundfile` does it (libsndfile's
/// default float normalisation), so samples equal those librosa reads.
public final class SndFileSource: AudioSource {
    public let streamDescription: AudioStreamDescription
    private var handle: OpaquePointer?
    private var framesRead: Int64 = 0
    private var finished = false
    /// Frames a data chunk that was cut short declares (from libsndfile's header
    /// log); nil when the chunk is complete or its length cannot tell.
    private let dataChunkDeclaredFrames: Int64?
    /// Keeps in-memory bytes alive for virtual I/O.
    private let memory: MemoryFile?

    /// Why `SndFileSource` could not open a stream; `AudioDecoder` turns this into
    /// an `AudioError`, possibly after trying ffmpeg.
    struct OpenFailure: Error {
        /// libsndfile's error number (1 unrecognised, 3 malformed, 4 unsupported encoding, more internal ones).
        var code: Int32
        var message: String
        var isUnrecognisedOrUnsupported: Bool {
            code == Int32(SF_ERR_UNRECOGNISED_FORMAT) || code == Int32(SF_ERR_UNSUPPORTED_ENCODING)
                || message.localizedCaseInsensitiveContains("not supported")
                || message.localizedCaseInsensitiveContains("unsupported")
        }
    }

    /// Opens an already opened, regular file descriptor; takes ownership of it.
    init(fileDescriptor: Int32, path: String) throws {
        var info = SF_INFO()
        guard let handle = sf_open_fd(fileDescriptor, Int32(SFM_READ), &info, 1) else {
            let failure = OpenFailure(code: sf_error(nil), message: String(cString: sf_strerror(nil)))
            Foundation.close(fileDescriptor)
            throw failure
        }
        self.memory = nil
        self.handle = handle
        (self.streamDescription, self.dataChunkDeclaredFrames) = Self.describe(handle, info: info, path: path)
        try self.validate()
    }

    /// Opens audio held in memory; `name` identifies it in errors.
    init(data: Data, name: String) throws {
        let memory = MemoryFile(bytes: [UInt8](data))
        var io = SF_VIRTUAL_IO(
            get_filelen: { userData in MemoryFile.from(userData).length },
            seek: { offset, whence, userData in MemoryFile.from(userData).seek(offset, whence) },
            read: { pointer, count, userData in MemoryFile.from(userData).read(into: pointer, count: count) },
            write: { _, _, _ in 0 },
            tell: { userData in MemoryFile.from(userData).position }
        )
        var info = SF_INFO()
        let userData = Unmanaged.passUnretained(memory).toOpaque()
        guard let handle = sf_open_virtual(&io, Int32(SFM_READ), &info, userData) else {
            throw OpenFailure(code: sf_error(nil), message: String(cString: sf_strerror(nil)))
        }
        self.memory = memory
        self.handle = handle
        (self.streamDescription, self.dataChunkDeclaredFrames) = Self.describe(handle, info: info, path: name)
        try self.validate()
    }

    deinit { close() }

    public func close() {
        if let handle {
            sf_close(handle)
            self.handle = nil
        }
    }

    private func validate() throws {
        do {
            try StreamLimits.validate(streamDescription)
        } catch {
            close()
            throw error
        }
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard let handle, !finished, let base = buffer.baseAddress else { return 0 }
        let channels = streamDescription.channels
        let capacity = buffer.count / channels
        guard capacity > 0 else { return 0 }
        let count = sf_readf_float(handle, base, sf_count_t(capacity))
        let status = sf_error(handle)
        if status != 0 {
            throw AudioError.decodeFailed(path: streamDescription.path, reason: String(cString: sf_strerror(handle)))
        }
        if count > 0 {
            framesRead += Int64(count)
            return Int(count)
        }
        finished = true
        try checkComplete()
        return 0
    }

    /// At the end of the stream: did we get everything the header promised?
    private func checkComplete() throws {
        let path = streamDescription.path
        if let declared = streamDescription.declaredFrames, framesRead < declared {
            throw AudioError.truncated(path: path, expectedFrames: declared, decodedFrames: framesRead)
        }
        if let declared = dataChunkDeclaredFrames {
            throw AudioError.truncated(path: path, expectedFrames: declared, decodedFrames: framesRead)
        }
    }

    // MARK: Describing the stream

    private static func describe(
        _ handle: OpaquePointer, info: SF_INFO, path: String
    ) -> (AudioStreamDescription, Int64?) {
        let major = Int(info.format) & Int(SF_FORMAT_TYPEMASK)
        let subtype = Int(info.format) & Int(SF_FORMAT_SUBMASK)
        let isMPEG = (0x0080...0x0082).contains(subtype)
        // MPEG-coded lengths are estimates; a count of SF_COUNT_MAX means "unknown".
        let declared: Int64? = (isMPEG || info.frames <= 0 || info.frames == Int64.max) ? nil : info.frames
        let description = AudioStreamDescription(
            path: path,
            container: containerName(major),
            codec: codecName(subtype),
            sampleRate: Int(info.samplerate),
            channels: Int(info.channels),
            declaredFrames: declared,
            estimatedFrames: (info.frames > 0 && info.frames < Int64.max) ? info.frames : nil,
            decoder: .libsndfile
        )
        let frameBytes = Int64(max(1, sampleWidth(subtype) * Int(info.channels)))
        return (description, dataChunkShortfall(handle).map { $0.declared / frameBytes })
    }

    /// Bytes per sample of an uncompressed subtype; 0 for coded ones.
    private static func sampleWidth(_ subtype: Int) -> Int {
        switch subtype {
        case Int(SF_FORMAT_PCM_S8), Int(SF_FORMAT_PCM_U8), Int(SF_FORMAT_ULAW), Int(SF_FORMAT_ALAW): return 1
        case Int(SF_FORMAT_PCM_16): return 2
        case Int(SF_FORMAT_PCM_24): return 3
        case Int(SF_FORMAT_PCM_32), Int(SF_FORMAT_FLOAT): return 4
        case Int(SF_FORMAT_DOUBLE): return 8
        default: return 0
        }
    }

    /// libsndfile quietly clamps a data chunk that runs past the end of the file
    /// and notes it in its log as `data : 32000 (should be 15956)`. A declared
    /// length of 0 or near 4 GiB is the usual "length unknown" placeholder of
    /// streaming writers and is not a truncation.
    private static func dataChunkShortfall(_ handle: OpaquePointer) -> (declared: Int64, present: Int64)? {
        var log = [CChar](repeating: 0, count: 16_384)
        sf_command(handle, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("data :") || trimmed.hasPrefix("SSND :"),
                  let open = trimmed.range(of: "(should be ")
            else { continue }
            let declaredText = trimmed[trimmed.index(trimmed.startIndex, offsetBy: 6)..<open.lowerBound]
                .trimmingCharacters(in: .whitespaces)
            let presentText = trimmed[open.upperBound...].prefix { $0.isNumber }
            guard let declared = Int64(declaredText), let present = Int64(presentText) else { continue }
            let isPlaceholder = declared == 0 || declared >= 0x7FFF_0000
            if !isPlaceholder && present < declared {
                return (declared, present)
            }
        }
        return nil
    }

    static func containerName(_ major: Int) -> String {
        switch major {
        case Int(SF_FORMAT_WAV): return "WAV"
        case Int(SF_FORMAT_WAVEX): return "WAV (extensible)"
        case Int(SF_FORMAT_RF64): return "RF64"
        case Int(SF_FORMAT_W64): return "W64"
        case Int(SF_FORMAT_AIFF): return "AIFF"
        case Int(SF_FORMAT_AU): return "AU"
        case Int(SF_FORMAT_FLAC): return "FLAC"
        case Int(SF_FORMAT_OGG): return "OGG"
        case Int(SF_FORMAT_MPEG): return "MPEG"
        case Int(SF_FORMAT_CAF): return "CAF"
        default:
            return libsndfileName(of: major) ?? String(format: "libsndfile 0x%06x", major)
        }
    }

    static func codecName(_ subtype: Int) -> String {
        switch subtype {
        case Int(SF_FORMAT_PCM_S8): return "PCM 8-bit signed"
        case Int(SF_FORMAT_PCM_U8): return "PCM 8-bit unsigned"
        case Int(SF_FORMAT_PCM_16): return "PCM 16-bit"
        case Int(SF_FORMAT_PCM_24): return "PCM 24-bit"
        case Int(SF_FORMAT_PCM_32): return "PCM 32-bit"
        case Int(SF_FORMAT_FLOAT): return "float 32-bit"
        case Int(SF_FORMAT_DOUBLE): return "float 64-bit"
        case Int(SF_FORMAT_ULAW): return "u-law"
        case Int(SF_FORMAT_ALAW): return "A-law"
        case Int(SF_FORMAT_IMA_ADPCM): return "IMA ADPCM"
        case Int(SF_FORMAT_MS_ADPCM): return "MS ADPCM"
        case Int(SF_FORMAT_GSM610): return "GSM 6.10"
        case Int(SF_FORMAT_VORBIS): return "Vorbis"
        case Int(SF_FORMAT_OPUS): return "Opus"
        case Int(SF_FORMAT_MPEG_LAYER_I): return "MPEG layer I"
        case Int(SF_FORMAT_MPEG_LAYER_II): return "MPEG layer II"
        case Int(SF_FORMAT_MPEG_LAYER_III): return "MP3"
        default:
            return libsndfileName(of: subtype) ?? String(format: "libsndfile 0x%04x", subtype)
        }
    }

    /// libsndfile's own name for a major format or subtype code.
    private static func libsndfileName(of code: Int) -> String? {
        var info = SF_FORMAT_INFO()
        info.format = Int32(code)
        guard sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size)) == 0,
              let name = info.name
        else { return nil }
        return String(cString: name)
    }
}

/// A read-only, seekable byte buffer for libsndfile's virtual I/O.
final class MemoryFile {
    let bytes: [UInt8]
    var position: sf_count_t = 0
    var length: sf_count_t { sf_count_t(bytes.count) }

    init(bytes: [UInt8]) { self.bytes = bytes }

    static func from(_ userData: UnsafeMutableRawPointer?) -> MemoryFile {
        Unmanaged<MemoryFile>.fromOpaque(userData!).takeUnretainedValue()
    }

    func seek(_ offset: sf_count_t, _ whence: Int32) -> sf_count_t {
        let base: sf_count_t
        switch whence {
        case SEEK_CUR: base = position
        case SEEK_END: base = length
        default: base = 0
        }
        let (target, overflow) = base.addingReportingOverflow(offset)
        guard !overflow, target >= 0 else { return -1 }
        position = min(target, length)
        return position
    }

    func read(into pointer: UnsafeMutableRawPointer?, count: sf_count_t) -> sf_count_t {
        guard let pointer, count > 0, position < length else { return 0 }
        let n = Int(min(count, length - position))
        bytes.withUnsafeBytes { source in
            pointer.copyMemory(from: source.baseAddress! + Int(position), byteCount: n)
        }
        position += sf_count_t(n)
        return sf_count_t(n)
    }
}

import CSndFile
import Foundation

/// Opens audio by content, never by extension.
///
/// libsndfile reads what it knows in process; anything it does not recognise
/// (MP4, M4A, WebM, MOV, …) goes to ffmpeg when it is installed. A file whose
/// first bytes announce a format libsndfile owns (RIFF, AIFF, FLAC, …) but that
/// it cannot parse is reported as damaged instead of being guessed at.
public enum AudioDecoder {
    /// Opens the file at `path` for block-wise decoding.
    public static func open(path: String) throws -> AudioSource {
        let fd = try openRegularFile(path)
        let container = AudioContainer.sniff(path: path)
        if container == .wav {
            var header = [UInt8](repeating: 0, count: 65536)
            let read = pread(fd, &header, header.count, 0)
            var status = stat()
            if read > 0, fstat(fd, &status) == 0,
               let problem = RIFFLayout.problem(header: Array(header.prefix(read)), fileSize: Int(status.st_size)) {
                close(fd)
                throw AudioError.malformed(path: path, reason: problem)
            }
        }
        do {
            return try SndFileSource(fileDescriptor: fd, path: path)
        } catch let failure as SndFileSource.OpenFailure {
            if container.isNativeToSndFile && !failure.isUnrecognisedOrUnsupported {
                throw AudioError.malformed(path: path, reason: failure.message)
            }
            return try openWithFFmpeg(path: path, container: container, sndfileMessage: failure.message)
        }
    }

    /// Opens audio held in memory (an upload, a fuzzer input). Only the formats
    /// libsndfile reads are accepted; write other content to a file and use
    /// `open(path:)` to reach ffmpeg.
    public static func open(data: Data, name: String) throws -> AudioSource {
        guard !data.isEmpty else { throw AudioError.emptyFile(path: name) }
        if let problem = RIFFLayout.problem(header: [UInt8](data.prefix(65536)), fileSize: data.count) {
            throw AudioError.malformed(path: name, reason: problem)
        }
        do {
            return try SndFileSource(data: data, name: name)
        } catch let failure as SndFileSource.OpenFailure {
            let container = AudioContainer.sniff(data.prefix(16))
            if container.isNativeToSndFile && !failure.isUnrecognisedOrUnsupported {
                throw AudioError.malformed(path: name, reason: failure.message)
            }
            throw AudioError.unsupportedFormat(path: name, reason: "libsndfile: \(failure.message)")
        }
    }

    private static func openWithFFmpeg(path: String, container: AudioContainer, sndfileMessage: String) throws -> AudioSource {
        guard FFmpegSource.isAvailable else {
            switch container {
            case .mp4, .matroska:
                throw AudioError.ffmpegUnavailable(path: path)
            default:
                throw AudioError.unsupportedFormat(
                    path: path,
                    reason: "libsndfile: \(sndfileMessage); installing ffmpeg (apt-get install ffmpeg) adds MP4, M4A, WebM and more")
            }
        }
        return try FFmpegSource(path: path)
    }

    /// Opens `path` read-only after checking it is a non-empty regular file.
    /// Opening non-blocking first means a FIFO cannot stall us.
    private static func openRegularFile(_ path: String) throws -> Int32 {
        let fd = Foundation.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT, ENOTDIR: throw AudioError.fileNotFound(path: path)
            case EISDIR: throw AudioError.isDirectory(path: path)
            default: throw AudioError.unreadable(path: path, reason: String(cString: strerror(code)))
            }
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            Foundation.close(fd)
            throw AudioError.unreadable(path: path, reason: reason)
        }
        let type = status.st_mode & S_IFMT
        if type == S_IFDIR {
            Foundation.close(fd)
            throw AudioError.isDirectory(path: path)
        }
        guard type == S_IFREG else {
            Foundation.close(fd)
            throw AudioError.notARegularFile(path: path)
        }
        guard status.st_size > 0 else {
            Foundation.close(fd)
            throw AudioError.emptyFile(path: path)
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        return fd
    }
}

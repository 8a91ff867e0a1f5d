import CSndFile
import Foundation
import SERAudio
import SERTestSupport

/// Helpers for the audio tests' signals (the signals themselves are `TestSignals`).
enum Signals {
    /// Interleaves equally long channels.
    static func interleave(_ channels: [[Float]]) -> [Float] {
        let frames = channels[0].count
        var out = [Float](repeating: 0, count: frames * channels.count)
        for (c, channel) in channels.enumerated() {
            for i in 0..<frames { out[i * channels.count + c] = channel[i] }
        }
        return out
    }

    /// Rounds samples to what a `bits`-bit integer file stores, so a round trip is exact.
    static func quantized(_ samples: [Float], bits: Int) -> [Float] {
        let scale = Float(1 << (bits - 1))
        return samples.map { (($0 * scale).rounded() / scale) }
    }
}

/// A fresh directory removed at deinit.
final class TemporaryDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-tests-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// Writes test files in any format libsndfile can write.
enum SndFileFixture {
    struct WriteError: Error, CustomStringConvertible { var description: String }

    /// Writes interleaved `samples` with libsndfile's `major | subtype` format code.
    /// Integer PCM is written through libsndfile's 32-bit integer interface with
    /// the sample scaled by 2^31 (rounded down to the format's width by libsndfile),
    /// so samples already on the format's grid, k / 2^(bits-1), are stored exactly.
    static func write(_ samples: [Float], to path: String, sampleRate: Int, channels: Int = 1,
                      format: Int32) throws {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard sf_format_check(&info) != 0 else { throw WriteError(description: String(format: "format 0x%x not writable", format)) }
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw WriteError(description: String(cString: sf_strerror(nil)))
        }
        let frames = sf_count_t(samples.count / channels)
        let subtype = format & Int32(SF_FORMAT_SUBMASK)
        let isInteger = [u8, s8, s16, s24, s32].contains(subtype)
        let written: sf_count_t
        if isInteger {
            let ints = samples.map { Int32(clamping: Int64((Double($0) * 2_147_483_648).rounded(.down))) }
            written = ints.withUnsafeBufferPointer { sf_writef_int(handle, $0.baseAddress, frames) }
        } else {
            written = samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, frames) }
        }
        sf_close(handle)
        guard written == samples.count / channels else { throw WriteError(description: "short write") }
    }

    static let wav = Int32(SF_FORMAT_WAV)
    static let wavex = Int32(SF_FORMAT_WAVEX)
    static let aiff = Int32(SF_FORMAT_AIFF)
    static let flac = Int32(SF_FORMAT_FLAC)
    static let ogg = Int32(SF_FORMAT_OGG)
    static let mpeg = Int32(SF_FORMAT_MPEG)
    static let w64 = Int32(SF_FORMAT_W64)
    static let caf = Int32(SF_FORMAT_CAF)
    static let u8 = Int32(SF_FORMAT_PCM_U8)
    static let s8 = Int32(SF_FORMAT_PCM_S8)
    static let s16 = Int32(SF_FORMAT_PCM_16)
    static let s24 = Int32(SF_FORMAT_PCM_24)
    static let s32 = Int32(SF_FORMAT_PCM_32)
    static let f32 = Int32(SF_FORMAT_FLOAT)
    static let f64 = Int32(SF_FORMAT_DOUBLE)
    static let vorbis = Int32(SF_FORMAT_VORBIS)
    static let opus = Int32(SF_FORMAT_OPUS)
    static let mp3 = Int32(SF_FORMAT_MPEG_LAYER_III)
}

/// Where the committed fixtures live.
enum Fixtures {
    static var audioDirectory: String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/audio").path
    }

    static func audio(_ name: String) -> String { (audioDirectory as NSString).appendingPathComponent(name) }
}

/// The development corpora beside the checkout, when present.
enum SharedCorpora {
    static var root: String {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpora").path
    }

    static var isPresent: Bool { FileManager.default.fileExists(atPath: root + "/originals") }

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Whole-array equality as a plain Bool, so a failing `#expect` reports the
/// message given with it instead of printing both arrays.
func sameSamples(_ a: [Float], _ b: [Float]) -> Bool { a == b }

func sameSamples(_ a: AudioSignal, _ b: AudioSignal) -> Bool { a == b }

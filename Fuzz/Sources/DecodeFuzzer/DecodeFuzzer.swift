import Foundation
import SERAudio

/// One fuzz input: every input must decode or fail with an `AudioError`,
/// never crash, hang or trip AddressSanitizer. Exercises content sniffing,
/// libsndfile through in-memory virtual I/O, the header-log truncation check,
/// the non-finite check, mixing and soxr resampling.
func fuzzDecode(_ data: Data) {
    guard !data.isEmpty else { return }
    _ = AudioContainer.sniff(data.prefix(16))
    do {
        let stream = try AudioStream(source: AudioDecoder.open(data: data, name: "fuzz-input"),
                                     sampleRate: 16000, mono: true, blockFrames: 4096)
        var produced = 0
        var levels = AudioLevels()
        try stream.forEachBlock { block in
            produced += block.count
            levels.add(block)
            // A header may claim anything; bound the work per input.
            if produced > 2_000_000 { throw AudioError.invalidParameter("fuzz input too long") }
        }
    } catch is AudioError {
        // Expected for malformed input.
    } catch {
        fatalError("decode threw a non-AudioError: \(error)")
    }
}

/// The decode target's seeds come from FFmpeg (every container and
/// encoding they write), made by scripts/fuzz.sh; none are made here.
func decodeSeeds() -> [String: Data] { [:] }

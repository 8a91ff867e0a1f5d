import Foundation
import SERAudio

/// One fuzz input: every input must decode or fail with an `AudioError`,
/// never crash, hang or trip AddressSanitizer. Exercises content sniffing,
/// libsndfile through in-memory virtual I/O, the header-log truncation check,
/// the non-finite check, mixing and soxr resampling.
func fuzzDecode(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let data = Data(bytes: start, count: count)
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
    return 0
}

/// Averages interleaved channels into one, in float32, summing the channels of
/// each frame in order (what numpy's `mean(axis=0)` does for librosa's `to_mono`).
///
/// - Parameters:
///   - input: `frames × channels` interleaved samples.
///   - channels: channels per frame (≥ 1).
///   - output: receives `frames` samples.
public func mixToMono(_ input: UnsafeBufferPointer<Float>, channels: Int, into output: UnsafeMutableBufferPointer<Float>) {
    let frames = min(input.count / channels, output.count)
    switch channels {
    case 1:
        for i in 0..<frames { output[i] = input[i] }
    case 2:
        for i in 0..<frames { output[i] = (input[2 * i] + input[2 * i + 1]) / 2 }
    default:
        let count = Float(channels)
        for i in 0..<frames {
            var sum: Float = 0
            let base = i * channels
            for c in 0..<channels { sum += input[base + c] }
            output[i] = sum / count
        }
    }
}

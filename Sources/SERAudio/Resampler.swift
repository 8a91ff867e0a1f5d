import CSoxr

/// Streaming sample-rate conversion with libsoxr.
///
/// Configured as librosa's default `res_type="soxr_hq"` configures it through
/// python-soxr: `soxr_quality_spec(SOXR_HQ, 0)`, float32 in and out, input fed
/// in chunks and flushed at the end. Output is interleaved like the input.
public final class Resampler {
    /// The input rate in Hz.
    public let inputRate: Double
    /// The output rate in Hz.
    public let outputRate: Double
    /// Interleaved channels per frame.
    public let channels: Int
    private var soxr: soxr_t?

    /// Creates a resampler from `inputRate` to `outputRate` Hz.
    public init(from inputRate: Double, to outputRate: Double, channels: Int) throws {
        guard inputRate > 0, outputRate > 0, inputRate.isFinite, outputRate.isFinite else {
            throw AudioError.invalidParameter("sample rates must be positive (got \(inputRate) → \(outputRate) Hz)")
        }
        guard channels >= 1 else {
            throw AudioError.invalidParameter("a resampler needs at least one channel (got \(channels))")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.channels = channels
        var error: soxr_error_t?
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        let handle = soxr_create(inputRate, outputRate, UInt32(channels), &error, &io, &quality, nil)
        if let error {
            throw AudioError.invalidParameter("libsoxr: \(String(cString: error))")
        }
        self.soxr = handle
    }

    deinit {
        if let soxr { soxr_delete(soxr) }
    }

    /// Output frames `inputFrames` input frames become, as librosa sizes them:
    /// `ceil(inputFrames * outputRate / inputRate)`.
    public func outputLength(forInputFrames inputFrames: Int64) -> Int64 {
        Int64((Double(inputFrames) * (outputRate / inputRate)).rounded(.up))
    }

    /// Upper bound on output frames one `process` call can produce for `inputFrames`.
    public func maximumOutputFrames(forInputFrames inputFrames: Int) -> Int {
        Int((Double(inputFrames) * outputRate / inputRate).rounded(.up)) + Int(soxr_delay(soxr).rounded(.up)) + 64
    }

    /// Resamples `input` (interleaved) and appends the frames produced to `output`.
    public func process(_ input: UnsafeBufferPointer<Float>, appendingTo output: inout [Float]) throws {
        let frames = input.count / channels
        guard frames > 0, let base = input.baseAddress else { return }
        var consumed = 0
        while consumed < frames {
            let capacity = maximumOutputFrames(forInputFrames: frames - consumed)
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: capacity * channels))
            var inputDone = 0
            var outputDone = 0
            let error = output.withUnsafeMutableBufferPointer { out in
                soxr_process(soxr,
                             base + consumed * channels, frames - consumed, &inputDone,
                             out.baseAddress! + start, capacity, &outputDone)
            }
            output.removeLast((capacity - outputDone) * channels)
            if let error { throw AudioError.invalidParameter("libsoxr: \(String(cString: error))") }
            consumed += inputDone
            if inputDone == 0 && outputDone == 0 { break }
        }
    }

    /// Resamples a whole mono signal as `librosa.resample(y, orig_sr, target_sr,
    /// res_type="soxr_hq", fix=True, scale=scale)` does: the output has
    /// `ceil(n · ratio)` samples, and `scale` divides by √ratio to keep energy.
    public static func resample(_ samples: [Float], from inputRate: Double, to outputRate: Double,
                                scale: Bool = false) throws -> [Float] {
        if inputRate == outputRate { return samples }
        let resampler = try Resampler(from: inputRate, to: outputRate, channels: 1)
        var output: [Float] = []
        output.reserveCapacity(resampler.maximumOutputFrames(forInputFrames: samples.count))
        try samples.withUnsafeBufferPointer { try resampler.process($0, appendingTo: &output) }
        try resampler.flush(appendingTo: &output)
        let target = Int(resampler.outputLength(forInputFrames: Int64(samples.count)))
        if output.count > target { output.removeLast(output.count - target) }
        if output.count < target { output.append(contentsOf: repeatElement(0, count: target - output.count)) }
        if scale {
            let factor = Float(1 / (outputRate / inputRate).squareRoot())
            for i in output.indices { output[i] *= factor }
        }
        return output
    }

    /// Signals the end of input and appends the remaining frames to `output`.
    public func flush(appendingTo output: inout [Float]) throws {
        while true {
            let capacity = 4096
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: capacity * channels))
            var outputDone = 0
            let error = output.withUnsafeMutableBufferPointer { out in
                soxr_process(soxr, nil, 0, nil, out.baseAddress! + start, capacity, &outputDone)
            }
            output.removeLast((capacity - outputDone) * channels)
            if let error { throw AudioError.invalidParameter("libsoxr: \(String(cString: error))") }
            if outputDone == 0 { break }
        }
    }
}

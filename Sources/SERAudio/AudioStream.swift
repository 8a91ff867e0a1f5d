/// Decodes a source block by block, mixes it down and resamples it, holding only
/// one block in memory: the path every long recording takes.
///
/// The result equals `librosa.load(path, sr=sampleRate, mono=mono)`: channel mean
/// in float32, libsoxr HQ resampling, and the output length fixed to
/// `ceil(frames * sampleRate / nativeRate)`.
public final class AudioStream {
    /// The underlying decoder's view of the stream.
    public let sourceDescription: AudioStreamDescription
    /// Sample rate of the blocks this stream yields.
    public let outputSampleRate: Int
    /// Channels per frame of the blocks this stream yields (1 when mixing to mono).
    public let outputChannels: Int
    /// A best guess at the total frames this stream will yield, when the source
    /// knows its length.
    public var estimatedOutputFrames: Int64? {
        sourceDescription.estimatedFrames.map {
            Int64((Double($0) * Double(outputSampleRate) / Double(sourceDescription.sampleRate)).rounded(.up))
        }
    }

    /// Frames decoded from the source so far.
    public private(set) var decodedFrames: Int64 = 0
    /// Frames yielded so far.
    public private(set) var producedFrames: Int64 = 0
    /// Time spent in the resampler so far (the rest of a stream's time is decoding).
    public private(set) var resamplingTime: Duration = .zero

    private let source: AudioSource
    private let mixesToMono: Bool
    private let resampler: Resampler?
    private var inputBlock: [Float]
    private var monoBlock: [Float]
    private var outputBlock: [Float] = []
    private var ended = false

    /// Default frames decoded per block.
    public static let defaultBlockFrames = 8_192

    /// Wraps an open source.
    ///
    /// - Parameters:
    ///   - source: the decoder; the stream closes it when done.
    ///   - sampleRate: the output rate, or `nil` to keep the native rate.
    ///   - mono: average all channels into one.
    ///   - blockFrames: source frames decoded per block.
    /// The sample rates ser reads and writes, in Hz.
    public static var acceptedSampleRates: ClosedRange<Int> { StreamLimits.sampleRates }

    public init(source: AudioSource, sampleRate: Int? = nil, mono: Bool = true,
                blockFrames: Int = AudioStream.defaultBlockFrames) throws {
        let description = source.streamDescription
        guard blockFrames > 0 else { throw AudioError.invalidParameter("block size must be positive") }
        if let sampleRate, !StreamLimits.sampleRates.contains(sampleRate) {
            throw AudioError.invalidParameter("sample rate \(sampleRate) Hz is out of range")
        }
        self.source = source
        self.sourceDescription = description
        self.mixesToMono = mono && description.channels > 1
        self.outputChannels = mono ? 1 : description.channels
        self.outputSampleRate = sampleRate ?? description.sampleRate
        self.inputBlock = [Float](repeating: 0, count: blockFrames * description.channels)
        self.monoBlock = mixesToMono ? [Float](repeating: 0, count: blockFrames) : []
        if outputSampleRate != description.sampleRate {
            self.resampler = try Resampler(
                from: Double(description.sampleRate), to: Double(outputSampleRate), channels: outputChannels)
            outputBlock.reserveCapacity(resampler!.maximumOutputFrames(forInputFrames: blockFrames) * outputChannels)
        } else {
            self.resampler = nil
        }
    }

    /// Opens the file at `path` and streams it.
    public convenience init(path: String, sampleRate: Int? = nil, mono: Bool = true,
                            blockFrames: Int = AudioStream.defaultBlockFrames) throws {
        try self.init(source: AudioDecoder.open(path: path), sampleRate: sampleRate, mono: mono,
                      blockFrames: blockFrames)
    }

    deinit { source.close() }

    /// Calls `body` with each block of interleaved output frames until the stream ends.
    /// The buffer is only valid during the call.
    public func forEachBlock(_ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        while let produced = try nextBlockLength() {
            try withCurrentBlock(length: produced, body)
        }
    }

    // MARK: Internals

    /// What the current block lives in.
    private enum BlockStorage { case input, mono, output }
    private var currentStorage = BlockStorage.input

    /// Decodes until a non-empty block is ready; returns its sample count, or nil at the end.
    private func nextBlockLength() throws -> Int? {
        while !ended {
            let frames = try inputBlock.withUnsafeMutableBufferPointer { try source.read(into: $0) }
            if frames == 0 {
                ended = true
                source.close()
                guard let resampler else { return nil }
                outputBlock.removeAll(keepingCapacity: true)
                let started = ContinuousClock.now
                try resampler.flush(appendingTo: &outputBlock)
                resamplingTime += ContinuousClock.now - started
                fixFinalLength(resampler)
                currentStorage = .output
                producedFrames += Int64(outputBlock.count / outputChannels)
                return outputBlock.isEmpty ? nil : outputBlock.count
            }
            try checkFinite(frames: frames)
            decodedFrames += Int64(frames)
            let sourceChannels = sourceDescription.channels
            if mixesToMono { mixDown(frames: frames, channels: sourceChannels) }
            let storage: BlockStorage = mixesToMono ? .mono : .input
            let samples = frames * (mixesToMono ? 1 : sourceChannels)
            guard let resampler else {
                currentStorage = storage
                producedFrames += Int64(frames)
                return samples
            }
            outputBlock.removeAll(keepingCapacity: true)
            let started = ContinuousClock.now
            defer { resamplingTime += ContinuousClock.now - started }
            switch storage {
            case .mono:
                try monoBlock.withUnsafeBufferPointer {
                    try resampler.process(UnsafeBufferPointer(rebasing: $0[0..<samples]), appendingTo: &outputBlock)
                }
            default:
                try inputBlock.withUnsafeBufferPointer {
                    try resampler.process(UnsafeBufferPointer(rebasing: $0[0..<samples]), appendingTo: &outputBlock)
                }
            }
            if !outputBlock.isEmpty {
                currentStorage = .output
                producedFrames += Int64(outputBlock.count / outputChannels)
                return outputBlock.count
            }
        }
        return nil
    }

    private func withCurrentBlock(length: Int, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        switch currentStorage {
        case .input: try inputBlock.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<length])) }
        case .mono: try monoBlock.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<length])) }
        case .output: try outputBlock.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<length])) }
        }
    }

    /// Trims or zero-pads the tail so the total matches librosa's `fix_length`.
    private func fixFinalLength(_ resampler: Resampler) {
        let target = resampler.outputLength(forInputFrames: decodedFrames)
        let afterTail = producedFrames + Int64(outputBlock.count / outputChannels)
        if afterTail > target {
            let excess = Int(min(afterTail - target, Int64(outputBlock.count / outputChannels)))
            outputBlock.removeLast(excess * outputChannels)
        } else if afterTail < target {
            outputBlock.append(contentsOf: repeatElement(0, count: Int(target - afterTail) * outputChannels))
        }
    }

    private func mixDown(frames: Int, channels: Int) {
        inputBlock.withUnsafeBufferPointer { input in
            monoBlock.withUnsafeMutableBufferPointer { mono in
                SERAudio.mixToMono(UnsafeBufferPointer(rebasing: input[0..<(frames * channels)]), channels: channels, into: mono)
            }
        }
    }

    private func checkFinite(frames: Int) throws {
        let channels = sourceDescription.channels
        let firstBad: Int? = inputBlock.withUnsafeBufferPointer { samples in
            for i in 0..<(frames * channels) where !samples[i].isFinite { return i / channels }
            return nil
        }
        if let firstBad {
            source.close()
            ended = true
            throw AudioError.nonFiniteSamples(path: sourceDescription.path, frame: decodedFrames + Int64(firstBad))
        }
    }
}

import Foundation

/// A whole decoded signal in memory: interleaved float32 samples in one
/// contiguous buffer.
public struct AudioSignal: Sendable, Equatable {
    /// Interleaved samples (`frames × channels`).
    public var samples: [Float]
    /// Sample rate in Hz.
    public var sampleRate: Int
    /// Channels per frame.
    public var channels: Int

    public init(samples: [Float], sampleRate: Int, channels: Int = 1) {
        precondition(channels > 0 && samples.count % channels == 0, "samples must hold whole frames")
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// Number of frames.
    public var frameCount: Int { samples.count / channels }

    /// Length in seconds.
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// Decodes the file at `path`, like `librosa.load(path, sr=sampleRate, mono=mono)`.
    ///
    /// - Parameters:
    ///   - sampleRate: the rate to resample to; `nil` keeps the file's own rate.
    ///   - mono: average the channels into one (librosa's default).
    public init(contentsOf path: String, sampleRate: Int? = nil, mono: Bool = true) throws {
        try self.init(stream: AudioStream(path: path, sampleRate: sampleRate, mono: mono))
    }

    /// Decodes audio bytes held in memory (formats libsndfile reads).
    public init(data: Data, name: String, sampleRate: Int? = nil, mono: Bool = true) throws {
        try self.init(stream: AudioStream(source: AudioDecoder.open(data: data, name: name),
                                          sampleRate: sampleRate, mono: mono))
    }

    /// Collects everything a stream yields.
    public init(stream: AudioStream) throws {
        var samples: [Float] = []
        if let expected = stream.estimatedOutputFrames {
            // Headers can lie: reserve at most 2^27 samples (512 MiB) up front.
            samples.reserveCapacity(Int(min(expected * Int64(stream.outputChannels) + 16, 1 << 27)))
        }
        try stream.forEachBlock { samples.append(contentsOf: $0) }
        self.init(samples: samples, sampleRate: stream.outputSampleRate, channels: stream.outputChannels)
    }

    /// The channel-mean mix (librosa's `to_mono`).
    public func mixedToMono() -> AudioSignal {
        guard channels > 1 else { return self }
        var mono = [Float](repeating: 0, count: frameCount)
        samples.withUnsafeBufferPointer { input in
            mono.withUnsafeMutableBufferPointer { mixToMono(input, channels: channels, into: $0) }
        }
        return AudioSignal(samples: mono, sampleRate: sampleRate, channels: 1)
    }
}

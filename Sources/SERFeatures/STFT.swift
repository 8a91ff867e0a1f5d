import Foundation

/// Short-time Fourier transform settings, with librosa 0.11's defaults.
public struct STFTConfiguration: Equatable, Hashable, Sendable, Codable {
    /// FFT size in samples (`n_fft`).
    public var fftSize: Int = 2048
    /// Samples between frames (`hop_length`).
    public var hopLength: Int = 512
    /// Window length (`win_length`); the Hann window is centred in the FFT frame.
    public var windowLength: Int?
    /// Pad `fftSize / 2` zeros at both ends so frame `t` is centred at `t · hop`.
    public var centered: Bool = true

    public init(fftSize: Int = 2048, hopLength: Int = 512, windowLength: Int? = nil, centered: Bool = true) {
        self.fftSize = fftSize
        self.hopLength = hopLength
        self.windowLength = windowLength
        self.centered = centered
    }

    func validate() throws {
        guard fftSize >= 2 else { throw FeatureError.invalidParameter("n_fft must be at least 2 (got \(fftSize))") }
        guard hopLength >= 1 else { throw FeatureError.invalidParameter("hop_length must be positive (got \(hopLength))") }
        if let windowLength, !(1...fftSize).contains(windowLength) {
            throw FeatureError.invalidParameter("win_length must be between 1 and n_fft (got \(windowLength))")
        }
    }

    /// Frequency bins per frame: `1 + fftSize / 2`.
    public var binCount: Int { fftSize / 2 + 1 }

    /// Frames for a signal of `sampleCount` samples, as librosa counts them.
    public func frameCount(forSamples sampleCount: Int) -> Int {
        let padded = centered ? sampleCount + 2 * (fftSize / 2) : sampleCount
        return padded < fftSize ? 0 : 1 + (padded - fftSize) / hopLength
    }

    /// Centre frequency of each bin in Hz (`librosa.fft_frequencies`).
    public func binFrequencies(sampleRate: Double) -> [Double] {
        let spacing = 1.0 / (Double(fftSize) * (1.0 / sampleRate))  // numpy.fft.rfftfreq's arithmetic
        return (0..<binCount).map { Double($0) * spacing }
    }

    /// The periodic Hann window of `windowLength`, zero-padded to `fftSize` and centred
    /// (`get_window('hann', win_length, fftbins=True)` then `pad_center`), in double
    /// precision as librosa keeps it.
    func window() -> [Double] {
        let length = windowLength ?? fftSize
        var window = [Double](repeating: 0, count: fftSize)
        let offset = (fftSize - length) / 2
        for n in 0..<length {
            window[offset + n] = 0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(length))
        }
        return window
    }
}

/// The magnitude spectrogram of a signal: the one STFT every spectral feature
/// shares. Stored frame by frame (`frames × bins`) for cache-friendly FFT output;
/// `magnitudes` and `power` give librosa's `bins × frames` layout.
public struct Spectrogram: Sendable {
    public let configuration: STFTConfiguration
    public let sampleRate: Double
    /// Number of frames.
    public let frameCount: Int
    /// Bins per frame.
    public let binCount: Int
    /// |X| for each frame, `frameCount × binCount`, row-major.
    public let frameMajorMagnitudes: [Float]
    /// |X|² for each frame, the same layout (float32 magnitude squared, as librosa's `np.abs(D)**2`).
    public let frameMajorPower: [Float]

    /// Computes the STFT magnitude of `samples` (mono).
    public init(samples: [Float], sampleRate: Double, configuration: STFTConfiguration = .init()) throws {
        try configuration.validate()
        let n = configuration.fftSize
        let hop = configuration.hopLength
        let frames = configuration.frameCount(forSamples: samples.count)
        guard frames > 0 else {
            throw FeatureError.signalTooShort(frames: samples.count, needed: n, what: "an uncentred STFT with n_fft=\(n)")
        }
        let bins = configuration.binCount
        let window = configuration.window()
        var magnitudes = [Float](repeating: 0, count: frames * bins)
        var power = [Float](repeating: 0, count: frames * bins)
        magnitudes.withUnsafeMutableBufferPointer { out in
            power.withUnsafeMutableBufferPointer { squared in
                forEachSTFTFrame(samples, fftSize: n, hopLength: hop, centered: configuration.centered, window: window) { t, re, im in
                    // Like librosa: complex64 result, float32 magnitude.
                    let row = UnsafeMutableRawPointer(out.baseAddress! + t * bins)
                    let rowPower = UnsafeMutableRawPointer(squared.baseAddress! + t * bins)
                    let reRaw = UnsafeRawPointer(re), imRaw = UnsafeRawPointer(im)
                    var k = 0
                    while k + 4 <= bins {
                        let r = SIMD4<Double>(SIMD4<Float>(reRaw.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self)))
                        let i = SIMD4<Double>(SIMD4<Float>(imRaw.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self)))
                        let magnitude = SIMD4<Float>(r * r + i * i).squareRoot()
                        row.storeBytes(of: magnitude, toByteOffset: k * 4, as: SIMD4<Float>.self)
                        rowPower.storeBytes(of: magnitude * magnitude, toByteOffset: k * 4, as: SIMD4<Float>.self)
                        k += 4
                    }
                    while k < bins {
                        let r = Float(re[k]), i = Float(im[k])
                        let magnitude = Float(Double(r) * Double(r) + Double(i) * Double(i)).squareRoot()
                        out[t * bins + k] = magnitude
                        squared[t * bins + k] = magnitude * magnitude
                        k += 1
                    }
                }
            }
        }
        self.configuration = configuration
        self.sampleRate = sampleRate
        self.frameCount = frames
        self.binCount = bins
        self.frameMajorMagnitudes = magnitudes
        self.frameMajorPower = power
    }

    /// Frame-major values (`frames × bins`), the layout the FFT produces.
    public struct FrameMajor: Sendable {
        public let frameCount: Int
        public let binCount: Int
        public let values: [Float]
    }

    /// |X|, frame-major.
    public var magnitudeFrames: FrameMajor {
        FrameMajor(frameCount: frameCount, binCount: binCount, values: frameMajorMagnitudes)
    }

    /// |X|², frame-major.
    public var powerFrames: FrameMajor {
        FrameMajor(frameCount: frameCount, binCount: binCount, values: frameMajorPower)
    }

    /// |X| as `bins × frames` (librosa's `np.abs(stft(y))`).
    public var magnitudes: FeatureMatrix {
        FeatureMatrix(rows: frameCount, columns: binCount, values: frameMajorMagnitudes).transposed()
    }

    /// |X|² as `bins × frames` (librosa's `np.abs(stft(y))**2`).
    public var power: FeatureMatrix {
        FeatureMatrix(rows: frameCount, columns: binCount, values: frameMajorPower).transposed()
    }

    /// Bin centre frequencies in Hz.
    public var binFrequencies: [Double] { configuration.binFrequencies(sampleRate: sampleRate) }
}

/// Calls `body(t, re, im)` with the spectrum (`fftSize/2 + 1` bins, double
/// precision) of every frame of `samples`: frame `t` starts at `t·hop`
/// (minus `fftSize/2` when centred, zero-padded outside the signal) and is
/// multiplied by `window` (`fftSize` values) before the FFT.
func forEachSTFTFrame(_ samples: [Float], fftSize n: Int, hopLength hop: Int, centered: Bool, window: [Double],
                      _ body: (_ frame: Int, _ re: UnsafePointer<Double>, _ im: UnsafePointer<Double>) -> Void) {
    let pad = centered ? n / 2 : 0
    let padded = samples.count + 2 * pad
    let frames = padded < n ? 0 : 1 + (padded - n) / hop
    let fft = RealFFT.forCurrentThread(size: n)
    var frame = [Double](repeating: 0, count: n)
    var spectrumRe = [Double](repeating: 0, count: n / 2 + 1)
    var spectrumIm = [Double](repeating: 0, count: n / 2 + 1)
    samples.withUnsafeBufferPointer { signal in
        window.withUnsafeBufferPointer { window in
            frame.withUnsafeMutableBufferPointer { frame in
                spectrumRe.withUnsafeMutableBufferPointer { re in
                    spectrumIm.withUnsafeMutableBufferPointer { im in
                        for t in 0..<frames {
                            let start = t * hop - pad
                            if start >= 0 && start + n <= signal.count {
                                let source = UnsafeRawPointer(signal.baseAddress! + start)
                                let weights = UnsafeRawPointer(window.baseAddress!)
                                let target = UnsafeMutableRawPointer(frame.baseAddress!)
                                var i = 0
                                while i + 8 <= n {
                                    let x = SIMD8<Double>(source.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                                    let w = weights.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Double>.self)
                                    target.storeBytes(of: x * w, toByteOffset: i * 8, as: SIMD8<Double>.self)
                                    i += 8
                                }
                                while i < n { frame[i] = Double(signal[start + i]) * window[i]; i += 1 }
                            } else {
                                for i in 0..<n {
                                    let index = start + i
                                    let sample = (index >= 0 && index < signal.count) ? Double(signal[index]) : 0
                                    frame[i] = sample * window[i]
                                }
                            }
                            fft.transform(frame.baseAddress!, real: re.baseAddress!, imaginary: im.baseAddress!)
                            body(t, re.baseAddress!, im.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}

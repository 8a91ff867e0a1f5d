import Foundation
import SERSupport

/// What a recording chain does to a voice between the mouth and the file: the
/// gain a device sets, clipping, noise, a room, a telephone line, a lossy codec.
///
/// Conditions are data: each one turns a clean recording into the recording a
/// user would have made, deterministically for a seed. `ser evaluate
/// --conditions` scores a model on condition copies of labelled recordings (how
/// much it loses on each chain), and multi-condition training
/// (`RecordingCondition.trainingMix`) adds a randomly drawn chain of them per
/// training copy, as the Kaldi and SpeechBrain recipes do with MUSAN noise and
/// room impulse responses.
///
/// A value can be a fixed number or a range drawn per copy (`white:5..20`);
/// several conditions are applied in order as a chain (`RecordingChain`,
/// written `room:0.5+phone`).
public enum RecordingCondition: Sendable, Equatable, Hashable {
    /// The recording as it is.
    case clean
    /// Level change in dB (a device's gain), drawn from the range.
    case gain(ClosedRange<Double>)
    /// Scaled so that the largest sample is at this level (dBFS), as phones,
    /// browsers and editors often do.
    case peakNormalized(Double)
    /// Made this many dB hotter, then clipped at full scale.
    case clipped(ClosedRange<Double>)
    /// Additive noise of a colour at a signal-to-noise ratio (dB) drawn from the range.
    case noise(NoiseColor, snr: ClosedRange<Double>)
    /// Several other voices talking at once, at a signal-to-noise ratio drawn
    /// from the range; the voices come from `ConditionContext.babbleVoices`.
    case babble(snr: ClosedRange<Double>)
    /// A room: a synthetic impulse response (direct sound, then exponentially
    /// decaying noise) whose reverberation time RT60 (seconds) is drawn from the range.
    case room(rt60: ClosedRange<Double>)
    /// A narrowband telephone line: 8 kHz, 300–3,400 Hz, 8-bit μ-law (G.711).
    case telephone
    /// A lossy codec at a bitrate (kbit/s), through ffmpeg.
    case codec(LossyCodec, kilobitsPerSecond: Int)

    /// The colours of additive noise.
    public enum NoiseColor: String, Sendable, CaseIterable {
        /// Flat spectrum.
        case white
        /// −3 dB per octave (power ∝ 1/f): fans, rain, many environments.
        case pink
        /// −6 dB per octave (power ∝ 1/f²): rumble, traffic, wind.
        case brown
    }

    /// The lossy codecs a condition can pass audio through.
    public enum LossyCodec: String, Sendable, CaseIterable {
        case mp3, aac, opus

        var ffmpegArguments: (encoder: String, container: String) {
            switch self {
            case .mp3: return ("libmp3lame", "mp3")
            case .aac: return ("aac", "m4a")
            case .opus: return ("libopus", "ogg")
            }
        }
    }
}

/// A chain of recording conditions applied in order; empty or `[.clean]` is the clean recording.
public struct RecordingChain: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var conditions: [RecordingCondition]

    public init(_ conditions: [RecordingCondition]) {
        self.conditions = conditions
    }

    /// The clean recording.
    public static let clean = RecordingChain([.clean])

    /// Parses `room:0.5+phone`, `white:10`, `gain:-20..20` (see `RecordingCondition(argument:)`).
    public init?(argument: String) {
        let parts = argument.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        var conditions: [RecordingCondition] = []
        for part in parts {
            guard let condition = RecordingCondition(argument: part) else { return nil }
            conditions.append(condition)
        }
        guard !conditions.isEmpty else { return nil }
        self.conditions = conditions
    }

    /// The argument form, also the condition's name in reports and cache keys.
    public var argument: String { conditions.map(\.argument).joined(separator: "+") }
    public var description: String { argument }

    /// Whether this chain leaves the recording as it is.
    public var isClean: Bool { conditions.allSatisfy { $0 == .clean } }

    /// Whether a condition of the chain needs other voices (`ConditionContext.babbleVoices`).
    public var needsBabble: Bool { conditions.contains { if case .babble = $0 { return true } else { return false } } }

    /// `samples` (mono at `sampleRate`) as this chain records them; `seed` draws
    /// every random choice, so the same seed gives the same copy.
    public func applied(to samples: [Float], sampleRate: Int, seed: UInt64, context: ConditionContext = .init()) throws -> [Float] {
        var generator = SplitMix64(seed: seed)
        var signal = samples
        for condition in conditions {
            signal = try condition.applied(to: signal, sampleRate: sampleRate, seed: generator.next(), context: context)
        }
        return signal
    }

    /// The conditions `ser evaluate --conditions` reports by default: level
    /// (quieter, peak-normalized, clipped), noise (white and pink at 20 and
    /// 10 dB, babble at 10 dB), a room, a telephone line and two low-bitrate codecs.
    public static let standardSet: [RecordingChain] = [
        "clean", "gain:-20", "peak:-1", "clip:10", "white:20", "white:10", "pink:20", "pink:10", "babble:10",
        "room:0.5", "phone", "mp3:32", "opus:12",
    ].compactMap(RecordingChain.init(argument:))

    /// One random chain for a multi-condition training copy: a gain within
    /// ±20 dB, then, each with its own chance, clipping, a room, noise (white,
    /// pink, brown or babble, 5–25 dB SNR), a telephone line or a codec.
    /// Evaluation copies use fixed conditions and other seeds.
    public static func trainingMix(seed: UInt64, babbleAvailable: Bool) -> RecordingChain {
        var generator = SplitMix64(seed: seed)
        func chance(_ p: Double) -> Bool { Double(generator.next() >> 11) / Double(1 << 53) < p }
        func pick<T>(_ options: [T]) -> T { options[Int(generator.next() % UInt64(options.count))] }
        var chain: [RecordingCondition] = [.gain(-20...20)]
        if chance(0.1) { chain.append(.peakNormalized(-1)) }
        if chance(0.1) { chain.append(.clipped(3...12)) }
        if chance(0.35) { chain.append(.room(rt60: 0.2...1.0)) }
        if chance(0.6) {
            let colours: [RecordingCondition] = [.noise(.white, snr: 5...25), .noise(.pink, snr: 5...25), .noise(.brown, snr: 5...25)]
            chain.append(babbleAvailable && chance(0.3) ? .babble(snr: 5...25) : pick(colours))
        }
        if chance(0.2) {
            chain.append(.telephone)
        } else if chance(0.25) {
            chain.append(pick([.codec(.mp3, kilobitsPerSecond: 32), .codec(.mp3, kilobitsPerSecond: 24),
                               .codec(.opus, kilobitsPerSecond: 12), .codec(.opus, kilobitsPerSecond: 16),
                               .codec(.aac, kilobitsPerSecond: 32)]))
        }
        return RecordingChain(chain)
    }
}

/// What some conditions need beyond the recording itself.
public struct ConditionContext: Sendable {
    /// Recordings of other speakers (mono, at the recording's rate) that babble
    /// mixes. For a training copy they must come from the training side of the
    /// split; the caller chooses them.
    public var babbleVoices: [[Float]]

    public init(babbleVoices: [[Float]] = []) {
        self.babbleVoices = babbleVoices
    }
}

extension RecordingCondition {
    /// Parses one condition: `clean`, `gain:DB`, `peak:DBFS`, `clip:DB`,
    /// `white:SNR`, `pink:SNR`, `brown:SNR`, `babble:SNR`, `room:RT60`, `phone`,
    /// `mp3:KBPS`, `aac:KBPS` or `opus:KBPS`. Numbers of gain, clip, noise and
    /// room may be ranges `LOW..HIGH`, drawn per copy.
    public init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        func range(_ limits: ClosedRange<Double>) -> ClosedRange<Double>? {
            guard parts.count == 2 else { return nil }
            let ends = parts[1].components(separatedBy: "..")
            guard ends.count == 1 || ends.count == 2 else { return nil }
            let values = ends.compactMap(Double.init)
            guard values.count == ends.count, values.allSatisfy({ $0.isFinite && limits.contains($0) }),
                  values.first! <= values.last! else { return nil }
            return values.first!...values.last!
        }
        switch name {
        case "clean" where parts.count == 1: self = .clean
        case "phone", "telephone": guard parts.count == 1 else { return nil }; self = .telephone
        case "gain": guard let r = range(-60...40) else { return nil }; self = .gain(r)
        case "peak": guard let r = range(-60...0), r.lowerBound == r.upperBound else { return nil }; self = .peakNormalized(r.lowerBound)
        case "clip": guard let r = range(0...40) else { return nil }; self = .clipped(r)
        case "white", "pink", "brown":
            guard let r = range(-10...60), let colour = NoiseColor(rawValue: name) else { return nil }
            self = .noise(colour, snr: r)
        case "babble": guard let r = range(-10...60) else { return nil }; self = .babble(snr: r)
        case "room": guard let r = range(0.05...3) else { return nil }; self = .room(rt60: r)
        case "mp3", "aac", "opus":
            guard parts.count == 2, let rate = Int(parts[1]), (6...320).contains(rate), let codec = LossyCodec(rawValue: name) else { return nil }
            self = .codec(codec, kilobitsPerSecond: rate)
        default: return nil
        }
    }

    /// The argument form.
    public var argument: String {
        func text(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        func text(_ range: ClosedRange<Double>) -> String {
            range.lowerBound == range.upperBound ? text(range.lowerBound) : text(range.lowerBound) + ".." + text(range.upperBound)
        }
        switch self {
        case .clean: return "clean"
        case .gain(let r): return "gain:" + text(r)
        case .peakNormalized(let level): return "peak:" + text(level)
        case .clipped(let r): return "clip:" + text(r)
        case .noise(let colour, let snr): return colour.rawValue + ":" + text(snr)
        case .babble(let snr): return "babble:" + text(snr)
        case .room(let rt60): return "room:" + text(rt60)
        case .telephone: return "phone"
        case .codec(let codec, let rate): return "\(codec.rawValue):\(rate)"
        }
    }

    /// This condition applied to mono `samples` at `sampleRate`, with random
    /// choices drawn from `seed`.
    public func applied(to samples: [Float], sampleRate: Int, seed: UInt64, context: ConditionContext = .init()) throws -> [Float] {
        var generator = SplitMix64(seed: seed)
        func draw(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + (range.upperBound - range.lowerBound) * Double(generator.next() >> 11) / Double(1 << 53)
        }
        guard !samples.isEmpty else { return samples }
        switch self {
        case .clean:
            return samples
        case .gain(let range):
            let factor = Float(pow(10, draw(range) / 20))
            return samples.map { $0 * factor }
        case .peakNormalized(let level):
            let peak = samples.reduce(Float(0)) { max($0, abs($1)) }
            guard peak > 0 else { return samples }
            let factor = Float(pow(10, level / 20)) / peak
            return samples.map { $0 * factor }
        case .clipped(let range):
            let factor = Float(pow(10, draw(range) / 20))
            return samples.map { min(1, max(-1, $0 * factor)) }
        case .noise(let colour, let snr):
            let noise = SignalKit.noise(colour, count: samples.count, generator: &generator)
            return SignalKit.mixed(samples, noise, snr: draw(snr), sampleRate: sampleRate)
        case .babble(let snr):
            guard !context.babbleVoices.isEmpty else {
                throw AudioError.invalidParameter("babble needs recordings of other speakers to mix; none were given")
            }
            let babble = SignalKit.babble(from: context.babbleVoices, count: samples.count, sampleRate: sampleRate, generator: &generator)
            return SignalKit.mixed(samples, babble, snr: draw(snr), sampleRate: sampleRate)
        case .room(let rt60):
            let response = SignalKit.roomImpulseResponse(rt60: draw(rt60), sampleRate: sampleRate, generator: &generator)
            let wet = SignalKit.convolved(samples, with: response)
            return SignalKit.matchingLevel(Array(wet.prefix(samples.count)), of: samples, sampleRate: sampleRate)
        case .telephone:
            return try SignalKit.telephoneLine(samples, sampleRate: sampleRate)
        case .codec(let codec, let rate):
            return try SignalKit.roundTrip(samples, sampleRate: sampleRate, codec: codec, kilobitsPerSecond: rate)
        }
    }
}

/// The signal processing behind recording conditions.
enum SignalKit {
    /// `count` samples of unit-variance noise of a colour.
    static func noise(_ colour: RecordingCondition.NoiseColor, count: Int, generator: inout SplitMix64) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        switch colour {
        case .white:
            for i in 0..<count { out[i] = generator.nextStandardNormal() }
        case .pink:
            // Paul Kellett's refined filter of white noise: within 0.05 dB of 1/f above 9 Hz at 44.1 kHz.
            var b = [Double](repeating: 0, count: 7)
            for i in 0..<count {
                let white = Double(generator.nextStandardNormal())
                b[0] = 0.99886 * b[0] + white * 0.0555179
                b[1] = 0.99332 * b[1] + white * 0.0750759
                b[2] = 0.96900 * b[2] + white * 0.1538520
                b[3] = 0.86650 * b[3] + white * 0.3104856
                b[4] = 0.55000 * b[4] + white * 0.5329522
                b[5] = -0.7616 * b[5] - white * 0.0168980
                out[i] = Float(b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + white * 0.5362)
                b[6] = white * 0.115926
            }
        case .brown:
            // Leaky integration of white noise (the leak keeps it from drifting).
            var state = 0.0
            for i in 0..<count {
                state = 0.998 * state + Double(generator.nextStandardNormal())
                out[i] = Float(state)
            }
        }
        let power = out.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, count))
        let scale = power > 0 ? Float(1 / power.squareRoot()) : 1
        return out.map { $0 * scale }
    }

    /// `signal + noise`, the noise scaled so that the signal's active level
    /// (`LevelNormalization.activeLevelDBFS`) is `snr` dB above the noise's mean power.
    static func mixed(_ signal: [Float], _ noise: [Float], snr: Double, sampleRate: Int) -> [Float] {
        guard let level = LevelNormalization.activeLevelDBFS(of: signal, sampleRate: sampleRate) else { return signal }
        let noisePower = noise.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, noise.count))
        guard noisePower > 0 else { return signal }
        let scale = Float((pow(10, (level - snr) / 10) / noisePower).squareRoot())
        var out = signal
        for i in out.indices where i < noise.count { out[i] += scale * noise[i] }
        return out
    }

    /// Three to six of `voices`, each at the same active level and from a
    /// random offset (looped), summed into `count` samples.
    static func babble(from voices: [[Float]], count: Int, sampleRate: Int, generator: inout SplitMix64) -> [Float] {
        let talkers = min(voices.count, 3 + Int(generator.next() % 4))
        let order = generator.permuted(Array(voices.indices))
        var out = [Float](repeating: 0, count: count)
        for voice in order.prefix(talkers).map({ voices[$0] }) where !voice.isEmpty {
            let levelled = LevelNormalization.standard.normalized(voice, sampleRate: sampleRate)
            let offset = Int(generator.next() % UInt64(levelled.count))
            for i in 0..<count { out[i] += levelled[(offset + i) % levelled.count] }
        }
        return out
    }

    /// A synthetic room impulse response: the direct sound, then Gaussian noise
    /// decaying by 60 dB over `rt60` seconds from 2 ms on (early reflections and
    /// diffuse tail in one), cut at 1.2 × RT60 and normalized to unit energy.
    static func roomImpulseResponse(rt60: Double, sampleRate: Int, generator: inout SplitMix64) -> [Float] {
        let rate = Double(sampleRate)
        let length = max(2, Int(1.2 * rt60 * rate))
        let onset = Int(0.002 * rate)
        let decay = log(1000.0) / (rt60 * rate)  // amplitude falls by 60 dB (1/1000) in rt60
        var response = [Float](repeating: 0, count: length)
        response[0] = 1
        // The tail's energy relative to the direct sound grows with the room's reverberation.
        let tailGain = Float(0.25 * (rt60 / 0.5).squareRoot())
        for n in onset..<length {
            response[n] = tailGain * Float(exp(-decay * Double(n - onset))) * generator.nextStandardNormal()
        }
        let energy = response.reduce(0.0) { $0 + Double($1) * Double($1) }
        let scale = Float(1 / energy.squareRoot())
        return response.map { $0 * scale }
    }

    /// Linear convolution through an FFT (length `a + b − 1`).
    static func convolved(_ a: [Float], with b: [Float]) -> [Float] {
        guard !a.isEmpty, !b.isEmpty else { return [] }
        let outputCount = a.count + b.count - 1
        var size = 1
        while size < outputCount { size <<= 1 }
        var ar = [Double](repeating: 0, count: size), ai = [Double](repeating: 0, count: size)
        var br = [Double](repeating: 0, count: size), bi = [Double](repeating: 0, count: size)
        for i in a.indices { ar[i] = Double(a[i]) }
        for i in b.indices { br[i] = Double(b[i]) }
        fft(&ar, &ai, inverse: false)
        fft(&br, &bi, inverse: false)
        for k in 0..<size {
            let re = ar[k] * br[k] - ai[k] * bi[k], im = ar[k] * bi[k] + ai[k] * br[k]
            ar[k] = re
            ai[k] = im
        }
        fft(&ar, &ai, inverse: true)
        return (0..<outputCount).map { Float(ar[$0] / Double(size)) }
    }

    /// In-place iterative radix-2 complex FFT (unnormalized; `inverse` flips the sign).
    static func fft(_ re: inout [Double], _ im: inout [Double], inverse: Bool) {
        let n = re.count
        guard n > 1 else { return }
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { re.swapAt(i, j); im.swapAt(i, j) }
        }
        var length = 2
        while length <= n {
            let angle = (inverse ? 2 : -2) * Double.pi / Double(length)
            let half = length / 2
            let wr = (0..<half).map { cos(angle * Double($0)) }, wi = (0..<half).map { sin(angle * Double($0)) }
            var start = 0
            while start < n {
                for k in 0..<half {
                    let u = start + k, v = u + half
                    let tr = re[v] * wr[k] - im[v] * wi[k], ti = re[v] * wi[k] + im[v] * wr[k]
                    re[v] = re[u] - tr
                    im[v] = im[u] - ti
                    re[u] += tr
                    im[u] += ti
                }
                start += length
            }
            length <<= 1
        }
    }

    /// `signal` scaled to the active level of `reference`.
    static func matchingLevel(_ signal: [Float], of reference: [Float], sampleRate: Int) -> [Float] {
        guard let target = LevelNormalization.activeLevelDBFS(of: reference, sampleRate: sampleRate) else { return signal }
        return LevelNormalization(referenceDBFS: target).normalized(signal, sampleRate: sampleRate)
    }

    /// A G.711 telephone line: resampled to 8 kHz, band-limited to 300–3,400 Hz
    /// (two Butterworth sections each side), companded to 8-bit μ-law and back,
    /// and resampled to `sampleRate`, same length.
    static func telephoneLine(_ samples: [Float], sampleRate: Int) throws -> [Float] {
        var narrow = try Resampler.resample(samples, from: Double(sampleRate), to: 8000)
        for _ in 0..<2 {
            ButterworthSection.highPass(cutoff: 300, sampleRate: 8000).filter(&narrow)
            ButterworthSection.lowPass(cutoff: 3400, sampleRate: 8000).filter(&narrow)
        }
        // A line carries a speech level near -20 dBFS; μ-law quantizes relative to full scale.
        narrow = LevelNormalization(referenceDBFS: -20).normalized(narrow, sampleRate: 8000)
        let mu: Float = 255
        for i in narrow.indices {
            let x = min(1, max(-1, narrow[i]))
            let companded = (x < 0 ? -1 : 1) * log1p(mu * abs(x)) / log1p(mu)
            let code = (companded * 127).rounded() / 127
            narrow[i] = (code < 0 ? -1 : 1) * (pow(1 + mu, abs(code)) - 1) / mu
        }
        let wide = try Resampler.resample(narrow, from: 8000, to: Double(sampleRate))
        var out = Array(wide.prefix(samples.count))
        if out.count < samples.count { out += [Float](repeating: 0, count: samples.count - out.count) }
        return matchingLevel(out, of: samples, sampleRate: sampleRate)
    }

    /// `samples` encoded by `codec` at `kilobitsPerSecond` and decoded again by
    /// ffmpeg, aligned to the input's length.
    static func roundTrip(_ samples: [Float], sampleRate: Int, codec: RecordingCondition.LossyCodec, kilobitsPerSecond: Int) throws -> [Float] {
        let name = "\(codec.rawValue):\(kilobitsPerSecond)"
        guard let ffmpeg = FFmpegSource.executablePath("ffmpeg") else { throw AudioError.ffmpegUnavailable(path: name) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ser-codec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.wav").path
        let (encoder, container) = codec.ffmpegArguments
        let encoded = folder.appendingPathComponent("coded.\(container)").path
        // Float WAV: the codec, not a 16-bit step, is what is measured.
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: sampleRate), to: input, format: .wav, encoding: .float32)
        // Opus runs at 48 kHz inside; the others keep the rate.
        var arguments = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", "file:" + input, "-c:a", encoder,
                         "-b:a", "\(kilobitsPerSecond)k"]
        if codec == .opus { arguments += ["-ar", "48000"] }
        arguments.append("file:" + encoded)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = folder.appendingPathComponent("ffmpeg.log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        do { try process.run() } catch { throw AudioError.ffmpegFailed(path: name, reason: "cannot start ffmpeg: \(error)") }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw AudioError.ffmpegFailed(path: name, reason: "encoding failed: \(log.split(separator: "\n").suffix(2).joined(separator: " "))")
        }
        let decoded = try AudioSignal(contentsOf: encoded, sampleRate: sampleRate, mono: true).samples
        var out = Array(decoded.prefix(samples.count))
        if out.count < samples.count { out += [Float](repeating: 0, count: samples.count - out.count) }
        return out
    }
}

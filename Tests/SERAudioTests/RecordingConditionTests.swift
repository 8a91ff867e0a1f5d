import Foundation
import SERSupport
import SERTestSupport
import Testing
@testable import SERAudio

/// The active level and its normalization: proportional to gain, blind to pauses.
@Suite struct SpeechLevelTests {
    @Test func aFullScaleSquareWaveIsAtZeroAndASineThreeDecibelsBelow() throws {
        let square = (0..<16000).map { Float($0 / 40 % 2 == 0 ? 1 : -1) }
        #expect(abs(try #require(LevelNormalization.activeLevelDBFS(of: square, sampleRate: 16000))) < 1e-6)
        let sine = TestSignals.tone(400, sampleRate: 16000, seconds: 1, amplitude: 1)  // whole periods in every 20 ms frame
        #expect(abs(try #require(LevelNormalization.activeLevelDBFS(of: sine, sampleRate: 16000)) + 3.0103) < 0.01)
    }

    @Test func theLevelMovesExactlyWithTheGainAndIgnoresPauses() throws {
        let tone = TestSignals.tone(300, sampleRate: 16000, seconds: 1, amplitude: 0.1)
        let withPause = tone + [Float](repeating: 0, count: 12000)  // 43 % silence
        let level = try #require(LevelNormalization.activeLevelDBFS(of: tone, sampleRate: 16000))
        #expect(abs(try #require(LevelNormalization.activeLevelDBFS(of: withPause, sampleRate: 16000)) - level) < 0.01)
        for gain in [-40.0, -20, 6] {
            let scaled = tone.map { $0 * Float(pow(10, gain / 20)) }
            #expect(abs(try #require(LevelNormalization.activeLevelDBFS(of: scaled, sampleRate: 16000)) - (level + gain)) < 1e-3)
        }
    }

    @Test func normalizationBringsAnyGainToTheReferenceAndLeavesSilenceAlone() throws {
        let speech = SyntheticSpeech.recording(seconds: 2, rate: 16000, voiceSpans: [(0.2, 1.8)])
        let reference = LevelNormalization.standard.normalized(speech, sampleRate: 16000)
        #expect(abs(try #require(LevelNormalization.activeLevelDBFS(of: reference, sampleRate: 16000)) + 26) < 1e-3)
        for gain: Float in [0.01, 0.3, 3] {
            let again = LevelNormalization.standard.normalized(speech.map { $0 * gain }, sampleRate: 16000)
            let worst = zip(again, reference).map { abs($0 - $1) }.max() ?? 1
            #expect(worst < 1e-5, "gain \(gain): \(worst)")
        }
        let silence = [Float](repeating: 0, count: 8000)
        #expect(LevelNormalization.activeLevelDBFS(of: silence, sampleRate: 16000) == nil)
        #expect(LevelNormalization.standard.normalized(silence, sampleRate: 16000) == silence)
        #expect(LevelNormalization.activeLevelDBFS(of: [], sampleRate: 16000) == nil)
    }
}

/// Recording conditions: what each one does to a signal, measured on the result.
@Suite struct RecordingConditionTests {
    let rate = 16000
    let speech = SyntheticSpeech.recording(seconds: 3, rate: 16000, voiceSpans: [(0.3, 2.7)], noiseLevel: 0)

    func level(_ samples: [Float]) -> Double { LevelNormalization.activeLevelDBFS(of: samples, sampleRate: 16000) ?? -200 }

    @Test(arguments: ["clean", "gain:-20", "gain:-20..20", "peak:-1", "clip:10", "white:10", "pink:5..25", "brown:20",
                      "babble:10", "room:0.5", "room:0.2..1", "phone", "mp3:32", "aac:24", "opus:12", "room:0.5+white:10+phone"])
    func argumentsRoundTrip(_ argument: String) throws {
        let chain = try #require(RecordingChain(argument: argument))
        #expect(chain.argument == argument)
    }

    @Test(arguments: ["", "gain", "gain:x", "white:10..5", "peak:-3..-1", "room:9", "phone:3", "mp3:2", "clean:1", "reverb:0.5", "white:10+"])
    func badArgumentsAreRefused(_ argument: String) {
        #expect(RecordingChain(argument: argument) == nil)
    }

    @Test func noiseIsMixedAtTheRequestedSignalToNoiseRatio() throws {
        for colour in RecordingCondition.NoiseColor.allCases {
            let noisy = try RecordingCondition.noise(colour, snr: 10...10).applied(to: speech, sampleRate: rate, seed: 5)
            let noise = zip(noisy, speech).map { $0 - $1 }
            let noisePower = noise.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(noise.count)
            #expect(abs(level(speech) - 10 * log10(noisePower) - 10) < 0.1, "\(colour)")
        }
    }

    @Test func pinkAndBrownNoiseFallWithFrequency() {
        func lowToHighRatio(_ colour: RecordingCondition.NoiseColor) -> Double {
            var generator = SplitMix64(seed: 9)
            let noise = SignalKit.noise(colour, count: 32000, generator: &generator)
            // Energy of the first difference (a high-pass) against the signal's: small for low-heavy noise.
            let difference = zip(noise.dropFirst(), noise).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            return difference / noise.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
        let white = lowToHighRatio(.white), pink = lowToHighRatio(.pink), brown = lowToHighRatio(.brown)
        #expect(abs(white - 2) < 0.1, "white noise's first difference doubles its power")
        #expect(pink < white / 2 && brown < pink / 4, "white \(white), pink \(pink), brown \(brown)")
    }

    @Test func levelConditionsDoWhatTheySay() throws {
        let quieter = try RecordingCondition.gain(-20...(-20)).applied(to: speech, sampleRate: rate, seed: 1)
        #expect(abs(level(quieter) - level(speech) + 20) < 1e-3)
        let peak = try RecordingCondition.peakNormalized(-1).applied(to: speech, sampleRate: rate, seed: 1)
        #expect(abs(20 * log10(Double(peak.map(abs).max() ?? 0)) + 1) < 1e-4)
        let clipped = try RecordingCondition.clipped(20...20).applied(to: speech, sampleRate: rate, seed: 1)
        #expect(clipped.allSatisfy { abs($0) <= 1 } && clipped.filter { abs($0) == 1 }.count > 100)
        let drawn = try (0..<20).map { try RecordingCondition.gain(-20...20).applied(to: speech, sampleRate: rate, seed: UInt64($0)) }
        let gains = drawn.map { level($0) - level(speech) }
        #expect(gains.allSatisfy { $0 >= -20.001 && $0 <= 20.001 } && (gains.max()! - gains.min()!) > 10, "\(gains)")
    }

    @Test func theSameSeedGivesTheSameCopyAndAnotherSeedAnother() throws {
        let chain = try #require(RecordingChain(argument: "room:0.3..0.9+white:5..20"))
        let a = try chain.applied(to: speech, sampleRate: rate, seed: 7)
        #expect(try chain.applied(to: speech, sampleRate: rate, seed: 7) == a)
        #expect(try chain.applied(to: speech, sampleRate: rate, seed: 8) != a)
        #expect(a.count == speech.count)
    }

    @Test func theRoomDecaysBySixtyDecibelsInItsReverberationTime() throws {
        for rt60 in [0.3, 0.8] {
            var generator = SplitMix64(seed: 3)
            let response = SignalKit.roomImpulseResponse(rt60: rt60, sampleRate: rate, generator: &generator)
            // Schroeder's backward integration; the slope between -5 and -25 dB, extrapolated to 60 dB.
            var remaining = response.reduce(0.0) { $0 + Double($1) * Double($1) }
            let total = remaining
            var decay: [Double] = []
            for x in response { decay.append(10 * log10(remaining / total)); remaining -= Double(x) * Double(x) }
            let t5 = try #require(decay.firstIndex { $0 < -5 }), t25 = try #require(decay.firstIndex { $0 < -25 })
            let measured = 3 * Double(t25 - t5) / Double(rate)
            #expect(abs(measured - rt60) / rt60 < 0.2, "RT60 \(rt60): measured \(measured)")
        }
        let reverberant = try RecordingCondition.room(rt60: 0.5...0.5).applied(to: speech, sampleRate: rate, seed: 2)
        #expect(reverberant.count == speech.count && abs(level(reverberant) - level(speech)) < 0.01)
    }

    @Test func convolutionThroughTheFFTIsTheDirectSum() {
        let a: [Float] = [1, 2, 3, -1, 0.5], b: [Float] = [0.5, -1, 2]
        let direct = (0..<(a.count + b.count - 1)).map { n in
            (0..<b.count).reduce(Float(0)) { sum, k in n - k >= 0 && n - k < a.count ? sum + a[n - k] * b[k] : sum }
        }
        let fast = SignalKit.convolved(a, with: b)
        #expect(fast.count == direct.count && zip(fast, direct).allSatisfy { abs($0 - $1) < 1e-5 }, "\(fast) vs \(direct)")
    }

    @Test func aTelephoneLineKeepsTheVoiceBandAndRemovesTheRest() throws {
        // 1 kHz is in the line's band, 6 kHz above what 8 kHz sampling carries, 150 Hz below its 300 Hz edge.
        let tones = [150.0, 1000, 6000].map { TestSignals.tone($0, sampleRate: rate, seconds: 1, amplitude: 0.1) }
        let mix = (0..<tones[0].count).map { i in tones.reduce(Float(0)) { $0 + $1[i] } }
        let line = try SignalKit.telephoneLine(mix, sampleRate: rate)
        #expect(line.count == mix.count)
        func power(_ samples: [Float], at hertz: Double) -> Double {
            // Power at one frequency by correlation with a sine and a cosine over 0.5 s.
            var re = 0.0, im = 0.0
            for i in 4000..<12000 {
                let phase = 2 * Double.pi * hertz * Double(i) / Double(rate)
                re += Double(samples[i]) * cos(phase)
                im += Double(samples[i]) * sin(phase)
            }
            return re * re + im * im
        }
        let high = 10 * log10(power(line, at: 1000) / power(line, at: 6000))
        let low = 10 * log10(power(line, at: 1000) / power(line, at: 150))
        #expect(high > 50, "6 kHz is only \(high) dB below 1 kHz after the line")
        #expect(low > 15, "150 Hz is only \(low) dB below 1 kHz after the line")
    }

    @Test func babbleNeedsVoicesAndMixesThemAtTheRatio() throws {
        #expect(throws: AudioError.self) { try RecordingCondition.babble(snr: 10...10).applied(to: speech, sampleRate: rate, seed: 1) }
        let voices = (0..<5).map { SyntheticSpeech.recording(seconds: 2, rate: rate, voiceSpans: [(0.1, 1.9)], seed: UInt64(10 + $0), pitch: 100 + 30 * Double($0)) }
        let mixed = try RecordingCondition.babble(snr: 10...10).applied(to: speech, sampleRate: rate, seed: 4,
                                                                         context: ConditionContext(babbleVoices: voices))
        let babble = zip(mixed, speech).map { $0 - $1 }
        let power = babble.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(babble.count)
        #expect(abs(level(speech) - 10 * log10(power) - 10) < 0.1)
    }

    @Test func codecsRoundTripThroughFFmpegAtTheSameLength() throws {
        guard FFmpegSource.isAvailable else {
            print("skipped: ffmpeg is not installed")
            return
        }
        for argument in ["mp3:32", "opus:12", "aac:32"] {
            let chain = try #require(RecordingChain(argument: argument))
            let coded = try chain.applied(to: speech, sampleRate: rate, seed: 1)
            #expect(coded.count == speech.count, "\(argument)")
            #expect(abs(level(coded) - level(speech)) < 3, "\(argument): \(level(coded)) vs \(level(speech))")
            #expect(coded != speech, "\(argument) changed nothing")
        }
    }
}

@Suite struct ButterworthSectionTests {
    /// The steady-state gain of two cascaded sections on a sinusoid, in dB.
    func gainDB(_ section: ButterworthSection, frequency: Double) -> Double {
        let rate = 16000.0
        let input = (0..<16000).map { Float(sin(2 * .pi * frequency * Double($0) / rate)) }
        var output = input
        section.filter(&output)
        section.filter(&output)
        func rms(_ x: ArraySlice<Float>) -> Double { (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot() }
        return 20 * log10(rms(output[8000...]) / rms(input[8000...]))
    }

    /// Two sections make a fourth-order Butterworth filter: −6 dB at the cutoff
    /// (−3 dB each), flat in the passband, 24 dB per octave beyond.
    @Test func twoSectionsAreAFourthOrderButterworthFilter() {
        let low = ButterworthSection.lowPass(cutoff: 1000, sampleRate: 16000)
        #expect(abs(gainDB(low, frequency: 1000) + 6.02) < 0.2)
        #expect(abs(gainDB(low, frequency: 200)) < 0.1)
        #expect(gainDB(low, frequency: 4000) < -45, "two octaves up: at least 48 dB down (the bilinear transform adds more near Nyquist)")
        let high = ButterworthSection.highPass(cutoff: 300, sampleRate: 16000)
        #expect(abs(gainDB(high, frequency: 300) + 6.02) < 0.2)
        #expect(abs(gainDB(high, frequency: 3000)) < 0.1)
        #expect(abs(gainDB(high, frequency: 75) + 48) < 3)
    }
}

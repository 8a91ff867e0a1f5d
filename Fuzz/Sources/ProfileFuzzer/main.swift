import Foundation
import FuzzSupport
import SERFeatures
import SERRecognition
import SERSpeakers
import SERSupport

/// Speaker profile files (`ser profile`, `ser predict --profile`): every input
/// loads as a profile that can be checked, updated, merged and used to adapt,
/// or fails with a typed error.
let pipeline = InputPipeline(preset: .classic180, sampleRate: 16000, trimsToSpeech: true, detector: VoiceActivityDetector(), resolvedEmbedder: nil)

func fuzzProfile(_ data: Data) {
    guard var profile = expectTyped([SpeakerProfile.Failure.self], { try SpeakerProfile(data: data, source: "fuzz-profile.json") }) else { return }
    let fits = (try? profile.check(against: pipeline, path: "fuzz-profile.json")) != nil
    let dimension = profile.statistics.dimension
    guard dimension <= 4096 else { return }
    let vector = (0..<dimension).map { Float($0 % 3) }
    profile.add([vector])
    var merged = profile.statistics
    merged.merge(profile.statistics)
    _ = merged.standardizer
    if fits { _ = profile.statistics.standardizer }
    _ = sortedJSONText(profile)     // what write(to:) stores
}

func profileSeeds() throws -> [String: Data] {
    var profile = SpeakerProfile(name: "ada", pipeline: pipeline, now: Date(timeIntervalSince1970: 0))
    profile.add([(0..<pipeline.preset.dimension).map { Float($0) }, (0..<pipeline.preset.dimension).map { _ in 1 }])
    var small = SpeakerProfile(name: "tiny", pipeline: pipeline, now: Date(timeIntervalSince1970: 0))
    small.statistics = try SpeakerStatistics(count: 2, sum: [1, 2, 3], sumOfSquares: [1, 4, 9])
    return ["profile.json": Data(sortedJSONText(profile).utf8), "small.json": Data(sortedJSONText(small).utf8)]
}

runFuzzTarget(seeds: profileSeeds, body: fuzzProfile)

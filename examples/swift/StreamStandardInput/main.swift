// Reads 16-bit little-endian mono PCM from standard input and prints what it hears
// every half second, adapting to the voice as it goes: the core of `ser listen`.
//
//   parec --format=s16le --rate=16000 --channels=1 | swift run example-stream-stdin models/default.safetensors
import Foundation
import SERRecognition

let arguments = Array(CommandLine.arguments.dropFirst())
guard let modelPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: example-stream-stdin MODEL.safetensors [SAMPLE-RATE] < audio.s16le\n".utf8))
    exit(2)
}
let rate = arguments.count > 1 ? Int(arguments[1]) ?? 16000 : 16000

do {
    let model = try EmotionModel(contentsOf: modelPath)
    let stream = try LiveEmotionStream(recognizer: EmotionRecognizer(model: model), encoding: .s16le,
                                       sampleRate: rate, channels: 1, windowSeconds: 2, hopSeconds: 0.5)
    func report(_ events: [LiveEvent]) {
        for event in events {
            let heard = event.estimate.emotion.map { "\($0) \(Int(((event.estimate.confidence ?? 0) * 100).rounded()))%" } ?? "no speech"
            let adapted = event.adaptedUtterances.map { ", adapted to \($0) utterances" } ?? ""
            print(String(format: "%6.1f s  ", event.time) + heard + adapted)
        }
    }
    while true {
        let chunk = FileHandle.standardInput.readData(ofLength: 3200)   // 0.1 s at 16 kHz
        if chunk.isEmpty { break }
        try chunk.withUnsafeBytes { report(try stream.append($0)) }
    }
    report(try stream.finish())
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}

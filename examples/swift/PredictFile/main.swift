// Predicts the emotion of each recording named on the command line with a model file.
//
//   swift run example-predict-file models/default.safetensors take.wav other.m4a
//
// Everything here is public API of SERRecognition, as a package that depends on ser uses it.
import Foundation
import SERRecognition

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: example-predict-file MODEL.safetensors AUDIO...\n".utf8))
    exit(2)
}

let model: EmotionModel
do {
    model = try EmotionModel(contentsOf: arguments[0])
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
let recognizer = EmotionRecognizer(model: model)

var failures = 0
for path in arguments.dropFirst() {
    do {
        let answer = try recognizer.recognize(path: path).estimate
        if let emotion = answer.emotion, let confidence = answer.confidence {
            let gender = answer.gender.map { " \($0.label)" } ?? ""
            print("\(path): \(emotion) \(Int((confidence * 100).rounded()))%\(gender)")
        } else {
            print("\(path): no speech")
        }
    } catch {
        // A bad file is reported and the others still get their answers.
        FileHandle.standardError.write(Data("\(path): \(error)\n".utf8))
        failures += 1
    }
}
exit(failures == 0 ? 0 : 1)

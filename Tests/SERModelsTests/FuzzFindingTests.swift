import Foundation
import SERNumerics
import SERSpeakers
import SERSupport
import Testing
@testable import SERModels

/// Inputs the fuzzers (Fuzz/, scripts/fuzz.sh) found crashing ser, kept as
/// small files in FuzzFindings/, and the limits that keep a hostile file from
/// allocating without bound. Each must now fail with a typed error that names the file.
@Suite struct FuzzFindingTests {
    static let findings = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzFindings")

    /// A stored float that is no index (here beyond Int's range) in an ensemble's
    /// forest member trapped in the Float → Int conversion.
    @Test func aTreeIndexBeyondIntIsACorruptFile() throws {
        let data = try Data(contentsOf: Self.findings.appendingPathComponent("ensemble-forest-index-beyond-int.safetensors"))
        let file = try SafeTensorsFile(data: data, source: "finding")
        #expect(throws: SafeTensorsFile.Failure.self) { try ClassifierFile.load(file, source: "finding") }
    }

    /// Every non-integral, non-finite or out-of-range stored index is refused.
    @Test(arguments: [Float.nan, .infinity, -.infinity, 1e30, 2.5, 3e7])
    func aTreeIndexThatIsNoIndexIsRefused(_ value: Float) throws {
        let forest = ForestClassifier(labels: ["a", "b"], configuration: { var c = TreeConfiguration(); c.trees = 1; return c }())
        forest.fit(LabelledMatrix(features: Matrix(rows: 4, columns: 2, values: [0, 1, 1, 0, 0, 2, 2, 0]), targets: [0, 1, 0, 1]))
        for tensor in ["trees.feature", "trees.left", "trees.offsets"] {
            var file = forest.modelFile(metadata: [:])
            var stored = try #require(file.tensors[tensor])
            stored.values[0] = value
            file.tensors[tensor] = stored
            #expect(throws: SafeTensorsFile.Failure.self, "\(tensor) = \(value)") { try ForestClassifier(modelFile: file, source: "hostile") }
        }
    }

    /// A header that declares a tensor of 2^62 × 8 elements (which wraps to a
    /// small byte count in 64-bit arithmetic) is refused before anything is allocated.
    @Test func aTensorWhoseSizeOverflowsIsRefused() throws {
        for shape in [[1 << 62, 8], [1 << 31, 1 << 31, 4], [Int.max, 2]] {
            let header = #"{"t":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,0]}}"#
            var data = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(Data(header.utf8))
            #expect(throws: SafeTensorsFile.Failure.self, "\(shape)") { try SafeTensorsFile(data: data, source: "hostile") }
        }
    }

    /// A header nested thousands of levels deep is refused, not followed down the stack.
    @Test func aDeeplyNestedHeaderIsRefused() throws {
        let header = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        #expect(throws: SafeTensorsFile.Failure.self) { try SafeTensorsFile(data: data, source: "hostile") }
    }

    /// A network design too small for its kind's pooling, or with a hidden layer
    /// of 2^40 units, is a corrupt file, not a precondition failure or a huge allocation.
    @Test func anImpossibleNetworkDesignIsACorruptFile() throws {
        #expect(NetworkDesign(kind: .cnn, frames: 4, bands: 64).problem != nil)
        #expect(NetworkDesign(kind: .cnn1d, frames: 3, bands: 2).problem != nil)
        #expect(NetworkDesign(kind: .lstm, frames: 1, bands: 2).problem != nil)
        var huge = NetworkDesign(kind: .lstm, frames: 4, bands: 2)
        huge.hiddenWidth = 1 << 40
        #expect(huge.problem != nil)
        #expect(NetworkDesign(kind: .cnn1d, frames: 4, bands: 2).problem == nil)
        #expect(NetworkDesign(kind: .cnn, frames: 8, bands: 8).problem == nil)
    }

    /// Stored speaker statistics cannot count so many recordings that adding
    /// or merging overflows.
    @Test func speakerStatisticsCountsAreBounded() throws {
        #expect(throws: SpeakerStatistics.Inconsistent.self) { try SpeakerStatistics(count: Int.max, sum: [1], sumOfSquares: [1]) }
        var full = try SpeakerStatistics(count: SpeakerStatistics.maximumCount, sum: [1], sumOfSquares: [1])
        let added = full.add([1])
        let merged = full.merge(full)
        #expect(!added && !merged)
        #expect(full.count == SpeakerStatistics.maximumCount)
    }
}

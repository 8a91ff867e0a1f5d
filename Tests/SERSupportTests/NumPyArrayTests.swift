import Foundation
import Testing
import SERSupport

@Suite struct NumPyArrayTests {
    /// A header for `shape`, as NumPy would write it, with no data after it.
    func header(shape: String, descr: String = "<f4") -> Data {
        let text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }\n"
        return Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)]) + Data(text.utf8)
    }

    /// Shapes a hostile file may declare: negative, not numbers, or so large that
    /// the element count overflows (and would wrap to a small one). Each is refused
    /// before anything is allocated.
    @Test(arguments: ["(-1,)", "(-2, -3)", "(3, x)", "(4611686018427387904, 4)", "(9223372036854775807, 2)", "(3037000500, 3037000500)"])
    func impossibleShapesAreRefused(_ shape: String) {
        #expect(throws: NumPyArray.Failure.self, "\(shape)") { try NumPyArray(npyData: header(shape: shape)) }
    }

    @Test func aShapeLargerThanTheDataIsRefused() {
        #expect(throws: NumPyArray.Failure.self) { try NumPyArray(npyData: header(shape: "(1000000,)") + Data(count: 16)) }
        #expect((try? NumPyArray(npyData: header(shape: "(4,)") + Data(count: 16)))?.shape == [4])
    }

    @Test func writeThenReadGivesTheSameArray() throws {
        let array = NumPyArray(shape: [3, 4], values: (0..<12).map { Float($0) * 0.5 - 2 })
        let parsed = try NumPyArray(npyData: array.npyData())
        #expect(parsed == array)
    }

    @Test func headerIsAlignedAndDescribesFloat32() throws {
        let data = NumPyArray(shape: [5], values: [1, 2, 3, 4, 5]).npyData()
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.contains("'descr': '<f4'"))
        #expect(header.contains("'shape': (5,)"))
        #expect(header.hasSuffix("\n"))
        #expect(data.count == 10 + headerLength + 5 * 4)
    }

    @Test func readsFloat64WrittenByNumPy() throws {
        // np.save of np.array([[1.5, -2.0], [0.25, 8.0]], dtype='<f8'), version 1.0, built byte by byte.
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"
        header += String(repeating: " ", count: 64 - (10 + header.count + 1) % 64) + "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)])
        data += Data(header.utf8)
        for value in [1.5, -2.0, 0.25, 8.0] {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data += Data($0) }
        }
        let parsed = try NumPyArray(npyData: data)
        #expect(parsed.shape == [2, 2])
        #expect(parsed.values == [1.5, -2.0, 0.25, 8.0])
    }

    @Test func scalarAndEmptyShapes() throws {
        let scalar = NumPyArray(shape: [], values: [42])
        #expect(try NumPyArray(npyData: scalar.npyData()) == scalar)
        let empty = NumPyArray(shape: [0, 3], values: [])
        #expect(try NumPyArray(npyData: empty.npyData()) == empty)
    }

    @Test func rejectsWhatIsNotNumPy() {
        #expect(throws: NumPyArray.Failure.self) { try NumPyArray(npyData: Data("hello".utf8)) }
        var truncated = NumPyArray(shape: [100], values: [Float](repeating: 1, count: 100)).npyData()
        truncated.removeLast(10)
        #expect(throws: NumPyArray.Failure.self) { try NumPyArray(npyData: truncated) }
        let complex = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0, 64, 0])
            + Data("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }".padding(toLength: 63, withPad: " ", startingAt: 0).utf8)
            + Data("\n".utf8) + Data(count: 8)
        #expect(throws: NumPyArray.Failure.self) { try NumPyArray(npyData: complex) }
    }

    @Test func fortranOrderIsReorderedToRowMajor() throws {
        // np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)) stores 0 3 1 4 2 5.
        var header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"
        header += String(repeating: " ", count: 64 - (10 + header.count + 1) % 64) + "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0, UInt8(header.count), 0]) + Data(header.utf8)
        for value: Float in [0, 3, 1, 4, 2, 5] { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += Data($0) } }
        let parsed = try NumPyArray(npyData: data)
        #expect(parsed.shape == [2, 3])
        #expect(parsed.values == [0, 1, 2, 3, 4, 5])
    }
}

@Suite struct AtomicFileTests {
    /// A device is written through, not replaced (as root, renaming onto /dev/null made it a
    /// regular file, a fuzz target's side effect).
    @Test func aDeviceIsWrittenThroughNotReplaced() throws {
        try AtomicFile.write(Data("discarded".utf8), to: "/dev/null")
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
        #expect(AtomicFile.isSpecialFile("/dev/null"))
        #expect(!AtomicFile.isSpecialFile("/etc/hostname"))
    }

    let directory: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-atomic-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    @Test func writesTheWholeContent() throws {
        let path = directory + "/a.bin"
        try AtomicFile.write(Data("complete".utf8), to: path)
        #expect(FileManager.default.contents(atPath: path) == Data("complete".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o044 } == 0o044, "readable by others like any normal file")
    }

    @Test func aFailingWriterLeavesTheOldFileAndNoTemporaries() throws {
        let path = directory + "/b.bin"
        try AtomicFile.write(Data("old".utf8), to: path)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try AtomicFile.write(to: path) { temporary in
                try Data("half-written".utf8).write(to: URL(fileURLWithPath: temporary))
                throw Boom()
            }
        }
        #expect(FileManager.default.contents(atPath: path) == Data("old".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["b.bin"])
    }

    @Test func missingDirectoryIsATypedError() {
        #expect(throws: AtomicFile.Failure.self) {
            try AtomicFile.write(Data("x".utf8), to: directory + "/no/such/dir/c.bin")
        }
    }
}

@Suite struct ParallelMapTests {
    @Test func resultsKeepTheirOrder() {
        let squares = parallelMap(count: 1000, workers: 4) { $0 * $0 }
        #expect(squares == (0..<1000).map { $0 * $0 })
    }

    @Test func everyItemIsReportedOnce() {
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var seen: [Int] = []
        }
        let counter = Counter()
        _ = parallelMap(count: 50, workers: 2, onCompletion: { finished in
            counter.lock.withLock { counter.seen.append(finished) }
        }) { $0 }
        #expect(counter.seen.sorted() == Array(1...50))
    }

    @Test func emptyInputAndSingleWorker() {
        #expect(parallelMap(count: 0) { $0 }.isEmpty)
        #expect(parallelMap(count: 3, workers: 1) { $0 + 1 } == [1, 2, 3])
    }
}

@Suite struct AllocatorPolicyTests {
    @Test func glibcAcceptsTheSettings() {
        #if canImport(Glibc)
        #expect(AllocatorPolicy.keepBatchBuffersOnHeap())
        #endif
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("FIPS 180-4 examples and a multi-block message fed in odd chunks")
    func knownDigests() {
        #expect(SHA256.hexDigest(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let twoBlocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(SHA256.hexDigest(of: Data(twoBlocks.utf8)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var hasher = SHA256()
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        var offset = 0
        for size in [1, 63, 64, 65, 1000, 7] where offset < million.count {
            hasher.update(million.subdata(in: offset..<(offset + size)))
            offset += size
        }
        hasher.update(million.subdata(in: offset..<million.count))
        #expect(hasher.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

import Foundation
import FuzzSupport
import SERSupport

/// `.npy` files as the feature cache and `ser features --npy` read them: every
/// input parses to values that fill its shape, or fails with a typed error.
func fuzzNpy(_ data: Data) {
    guard let array = expectTyped([NumPyArray.Failure.self], { try NumPyArray(npyData: data, source: "fuzz.npy") }) else { return }
    precondition(array.values.count == array.shape.reduce(1, *), "values do not fill the shape")
    _ = array.npyData()
}

func npySeeds() -> [String: Data] {
    var seeds: [String: Data] = [
        "vector.npy": NumPyArray(shape: [5], values: [0, 1.5, -2, 3, 1e-3]).npyData(),
        "matrix.npy": NumPyArray(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]).npyData(),
        "empty.npy": NumPyArray(shape: [0], values: []).npyData(),
    ]
    // NumPy's own other layouts: version 2 header, Fortran order, other dtypes.
    func file(major: UInt8, header: String, payload: [UInt8]) -> Data {
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0])
        let headerBytes = Array(header.utf8)
        if major == 1 {
            data.append(contentsOf: [UInt8(headerBytes.count & 0xFF), UInt8(headerBytes.count >> 8)])
        } else {
            withUnsafeBytes(of: UInt32(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        }
        return data + Data(headerBytes) + Data(payload)
    }
    seeds["fortran-f8.npy"] = file(major: 2, header: "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }\n",
                                   payload: [Double](arrayLiteral: 1, 2, 3, 4).flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) })
    seeds["int16.npy"] = file(major: 1, header: "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }\n", payload: [1, 0, 255, 255, 0, 128])
    seeds["bool.npy"] = file(major: 3, header: "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 1), }\n", payload: [1, 0])
    return seeds
}

runFuzzTarget(seeds: npySeeds, body: fuzzNpy)

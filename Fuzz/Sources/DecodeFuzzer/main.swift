import FuzzSupport

runFuzzTarget(seeds: decodeSeeds, body: fuzzDecode)

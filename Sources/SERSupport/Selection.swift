/// Rearranges `values` so that index `k` holds the k-th smallest value, smaller
/// values before it and larger ones after it (Hoare's selection with
/// median-of-three pivots, linear on average), and returns that value: a median
/// or percentile without sorting. `values` must not be empty and `k` must be one
/// of its indices.
@inlinable
public func selectKthSmallest<Value: Comparable>(_ k: Int, in values: UnsafeMutableBufferPointer<Value>) -> Value {
    precondition(values.indices.contains(k), "k must index the values")
    var low = 0, high = values.count - 1
    while high > low {
        let mid = low + (high - low) / 2
        if values[mid] < values[low] { values.swapAt(mid, low) }
        if values[high] < values[low] { values.swapAt(high, low) }
        if values[high] < values[mid] { values.swapAt(high, mid) }
        let pivot = values[mid]
        var i = low, j = high
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j { values.swapAt(i, j); i += 1; j -= 1 }
        }
        if k <= j { high = j } else if k >= i { low = i } else { return values[k] }
    }
    return values[k]
}

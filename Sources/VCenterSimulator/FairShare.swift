/// Max-min fair sharing of storage arrays by the copies running on them (progressive
/// filling), the same allocation as the test vCenter's (`maxMinShare` in
/// `scripts/vcsim/bandwidth.go`).
///
/// Every copy has its own cap (its rate alone, lowered by slow hosts and datastores) and
/// loads some arrays: with weight 1 where it only reads or only writes, 2 where it does both
/// (a copy inside one array costs it its rate twice). All copies start at 0 and rise
/// together; a copy stops when it reaches its cap or when an array it loads is full
/// (Σ weight × rate = capacity); the others keep rising until all have stopped. No array
/// ends above its capacity, no copy above its cap, and no copy could go faster without
/// slowing one that is no faster — so a copy held back by its cap or by a busier array
/// leaves its unused share to the others, which an equal split (capacity ÷ n) would waste.
enum FairShare {
    /// One array a copy loads.
    struct Use: Hashable {
        var array: Int
        /// 1 (reads or writes there) or 2 (both).
        var weight: Double
    }

    /// The rates, in the unit of `caps` and `capacity`. A copy loading no array gets its cap.
    static func maxMin(caps: [Double], uses: [[Use]], capacity: [Double]) -> [Double] {
        let n = caps.count
        var rates = Array(repeating: 0.0, count: n)
        var frozen = Array(repeating: false, count: n)
        var remaining = capacity
        var weight = Array(repeating: 0.0, count: capacity.count)   // unfrozen copies' weights per array
        var members = Array(repeating: [Int](), count: capacity.count)
        var order: [Int] = []
        for i in 0..<n {
            if uses[i].isEmpty {
                rates[i] = caps[i]
                frozen[i] = true
                continue
            }
            order.append(i)
            for u in uses[i] {
                weight[u.array] += u.weight
                members[u.array].append(i)
            }
        }
        order.sort { caps[$0] < caps[$1] }
        func freeze(_ i: Int, at rate: Double) {
            frozen[i] = true
            rates[i] = rate
            for u in uses[i] { weight[u.array] -= u.weight }
        }
        var level = 0.0, next = 0, left = order.count
        while left > 0 {
            while next < order.count, frozen[order[next]] { next += 1 }
            // How far every unfrozen copy can rise together: to the smallest cap, or until an array is full.
            var increment = next < order.count ? caps[order[next]] - level : Double.infinity
            for a in remaining.indices where weight[a] > 1e-12 {
                increment = min(increment, remaining[a] / weight[a])
            }
            increment = max(0, increment)
            level += increment
            for a in remaining.indices where weight[a] > 1e-12 { remaining[a] -= increment * weight[a] }
            // Freeze the copies at their cap, then those on a full array.
            while next < order.count, frozen[order[next]] || caps[order[next]] <= level * (1 + 1e-12) {
                let i = order[next]
                if !frozen[i] {
                    freeze(i, at: caps[i])
                    left -= 1
                }
                next += 1
            }
            for a in remaining.indices where weight[a] > 1e-12 && remaining[a] <= 1e-9 * capacity[a] {
                for i in members[a] where !frozen[i] {
                    freeze(i, at: level)
                    left -= 1
                }
            }
        }
        return rates
    }
}

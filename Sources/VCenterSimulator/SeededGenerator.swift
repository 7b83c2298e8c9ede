import Foundation

/// A small, fast, deterministic random number generator (SplitMix64): the same seed
/// gives the same sequence on every platform, so a generated inventory and an
/// injected-failure pattern can be reproduced exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1).
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal value (Box–Muller).
    public mutating func nextNormal() -> Double {
        var u = nextUnit()
        while u <= .ulpOfOne { u = nextUnit() }
        let v = nextUnit()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
    }

    /// A log-normal value with the given arithmetic `mean` and shape `sigma`
    /// (the standard deviation of the underlying normal).
    public mutating func nextLogNormal(mean: Double, sigma: Double) -> Double {
        let mu = Foundation.log(mean) - sigma * sigma / 2
        return Foundation.exp(mu + sigma * nextNormal())
    }
}

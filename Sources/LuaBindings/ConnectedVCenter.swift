import VCenterModel

/// A connected backend as the connector hands it to the bindings.
public struct ConnectedVCenter: Sendable {
    /// The backend (a `SOAPVCenter`, a `SimulatedVCenter`, …).
    public var vcenter: any VCenter
    /// Where it is connected, without credentials (`conn.url`): `https://vc01/sdk`, or
    /// `simulated` for the built-in simulator.
    public var url: String
    /// Whether it is the built-in simulator (`conn.simulated`).
    public var isSimulated: Bool

    /// Wraps a connected backend.
    public init(_ vcenter: any VCenter, url: String, isSimulated: Bool) {
        self.vcenter = vcenter
        self.url = url
        self.isSimulated = isSimulated
    }
}

/// Connects for `mm.connect{...}`: merges the request with flags and environment, logs
/// in, or falls back to the built-in simulator when no server is configured anywhere.
/// Errors should be `VCenterFault`s (`InvalidLogin: …`); they are raised in Lua as one line.
public typealias VCenterConnector = @Sendable (ConnectRequest) async throws -> ConnectedVCenter

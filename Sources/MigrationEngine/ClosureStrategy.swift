import VCenterModel

/// A strategy made of closures, for Swift callers and tests: each hook left nil
/// uses the protocol's default.
public struct ClosureStrategy: Strategy {
    /// `Strategy.select`.
    public var selectHook: ((Inventory) throws -> [JobRequest])?
    /// `Strategy.order`.
    public var orderHook: (([Job]) throws -> [Job])?
    /// `Strategy.target`.
    public var targetHook: ((Job, [DatastoreInfo]) throws -> MoRef?)?
    /// `Strategy.limits`.
    public var limitsHook: ((ClusterInfo) throws -> LimitOverrides)?
    /// `Strategy.vcenterLimits`.
    public var vcenterLimitsHook: ((Inventory) throws -> VCenterLimitOverrides)?
    /// `Strategy.onBlocked`.
    public var onBlockedHook: ((Job, BlockedInfo) throws -> BlockedDecision)?
    /// `Strategy.onFailure`.
    public var onFailureHook: ((Job, VCenterFault, Int) throws -> FailureDecision)?
    /// `Strategy.onDone`.
    public var onDoneHook: ((Job) throws -> Void)?

    /// Creates a strategy from closures.
    public init(
        select: ((Inventory) throws -> [JobRequest])? = nil,
        order: (([Job]) throws -> [Job])? = nil,
        target: ((Job, [DatastoreInfo]) throws -> MoRef?)? = nil,
        limits: ((ClusterInfo) throws -> LimitOverrides)? = nil,
        vcenterLimits: ((Inventory) throws -> VCenterLimitOverrides)? = nil,
        onBlocked: ((Job, BlockedInfo) throws -> BlockedDecision)? = nil,
        onFailure: ((Job, VCenterFault, Int) throws -> FailureDecision)? = nil,
        onDone: ((Job) throws -> Void)? = nil
    ) {
        selectHook = select
        orderHook = order
        targetHook = target
        limitsHook = limits
        vcenterLimitsHook = vcenterLimits
        onBlockedHook = onBlocked
        onFailureHook = onFailure
        onDoneHook = onDone
    }

    public func select(_ inventory: Inventory) throws -> [JobRequest] { try selectHook?(inventory) ?? [] }
    public func order(_ jobs: [Job]) throws -> [Job] { try orderHook?(jobs) ?? DefaultOrder.largestFirst(jobs) }
    public func target(_ job: Job, candidates: [DatastoreInfo]) throws -> MoRef? {
        if let targetHook { return try targetHook(job, candidates) }
        return DefaultOrder.mostFreeSpace(candidates)
    }
    public func limits(_ cluster: ClusterInfo) throws -> LimitOverrides { try limitsHook?(cluster) ?? .none }
    public func vcenterLimits(_ inventory: Inventory) throws -> VCenterLimitOverrides { try vcenterLimitsHook?(inventory) ?? .none }
    public func onBlocked(_ job: Job, _ info: BlockedInfo) throws -> BlockedDecision { try onBlockedHook?(job, info) ?? .wait }
    public func onFailure(_ job: Job, _ fault: VCenterFault, attempt: Int) throws -> FailureDecision {
        try onFailureHook?(job, fault, attempt) ?? .skip
    }
    public func onDone(_ job: Job) throws { try onDoneHook?(job) }
}

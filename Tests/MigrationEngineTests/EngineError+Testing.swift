import MigrationEngine

extension EngineError {
    /// Whether the run stopped because the journal could not be written — what an injected
    /// crash (`Journal.injectCrash`) looks like to the runner, as opposed to a failure of the
    /// backend or of the strategy.
    var isJournal: Bool {
        if case .journal = self { return true }
        return false
    }
}

import LuaHost
import Testing

@Suite struct NameSuggestionTests {
    @Test func spellingVariantsTyposAndAliases() {
        let known = ["committed", "power", "memory_mb", "connection_state"]
        #expect(NameSuggestion.suggestion(for: "connectionState", among: known) == "connection_state")
        #expect(NameSuggestion.suggestion(for: "Connection-State", among: known) == "connection_state")
        #expect(NameSuggestion.suggestion(for: "comitted", among: known) == "committed")
        #expect(NameSuggestion.suggestion(for: "size", among: known) == nil)
        #expect(NameSuggestion.suggestion(for: "size", among: known, aliases: ["size": "committed"]) == "committed")
        #expect(NameSuggestion.suggestion(for: "powerState", among: known, aliases: ["power_state": "power"]) == "power")
        #expect(NameSuggestion.hint(for: "xyzzy", among: known) == "")
        #expect(NameSuggestion.hint(for: "powr", among: known) == " (did you mean 'power'?)")
    }
}

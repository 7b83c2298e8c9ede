import LuaHost
import Testing

@Suite struct NameSuggestionTests {
    @Test func spellingVariantsTyposAndAliases() {
        let known = ["committed", "power", "memory_mb", "connection_state"]
        #expect(NameSuggestion.closest(to: "connectionState", among: known) == "connection_state")
        #expect(NameSuggestion.closest(to: "Connection-State", among: known) == "connection_state")
        #expect(NameSuggestion.closest(to: "comitted", among: known) == "committed")
        #expect(NameSuggestion.closest(to: "size", among: known) == nil)
        #expect(NameSuggestion.closest(to: "size", among: known, aliases: ["size": "committed"]) == "committed")
        #expect(NameSuggestion.closest(to: "powerState", among: known, aliases: ["power_state": "power"]) == "power")
        #expect(NameSuggestion.hint(for: "xyzzy", among: known) == "")
        #expect(NameSuggestion.hint(for: "powr", among: known) == " (did you mean 'power'?)")
    }
}

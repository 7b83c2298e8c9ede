// Placeholder: the LuaBindings module is being written. See docs/ARCHITECTURE.md.

// Placeholder: the LuaHost module is being written. See docs/ARCHITECTURE.md.

// Placeholder: the VimXML module is being written. See docs/ARCHITECTURE.md.

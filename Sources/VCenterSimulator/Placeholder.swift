// Placeholder: the VCenterSimulator module is being written. See docs/ARCHITECTURE.md.

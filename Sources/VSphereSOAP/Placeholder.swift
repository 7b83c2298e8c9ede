// Placeholder: the VSphereSOAP module is being written. See docs/ARCHITECTURE.md.

// Placeholder: the MigrationEngine module is being written. See docs/ARCHITECTURE.md.

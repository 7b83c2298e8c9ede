// Placeholder: TestVCenter launcher for tests (scripts/vcsim).

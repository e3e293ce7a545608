"""Local fakes of external services, for tests (no internet access needed)."""

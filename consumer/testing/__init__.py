"""Fakes shipped with the package: what no emulator models, for tests and local runs."""

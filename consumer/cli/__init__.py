"""The `sluice` command, top floor only: it may import every other package, and nothing
imports it."""

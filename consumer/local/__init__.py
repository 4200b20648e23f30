"""Local tooling, never imported by production code: the embedded AWS emulator (and its
resharding and ECS task runner), the demo, producers and the read-back that counts what
the demo delivered."""

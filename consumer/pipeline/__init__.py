"""The per-record path: decode under limits, route, validate, transform, partition, and the
quarantine envelope of a record that fails any stage (`process.Pipeline`)."""

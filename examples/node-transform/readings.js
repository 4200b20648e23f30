#!/usr/bin/env node
// An external transform for sluice in JavaScript (docs/external-transforms.md), on the
// protocol helper beside it: a reading {"type", "id", "key", "seq", "value"} becomes the
// row the Python transform `tests.integration.harness:reading_row` makes, so both run the
// same integration tests (tests/integration/conftest.py, fixture `transform`).
//   transform = { command = ["node", "examples/node-transform/readings.js"] }
"use strict";

const { serve } = require("./sluice-transform.js");

serve((reading) => {
  if (typeof reading.value !== "number" || !Number.isFinite(reading.value)) {
    throw new RangeError(`value must be a finite number, got ${JSON.stringify(reading.value)}`);
  }
  return { id: reading.id, key: reading.key, seq: reading.seq, value: reading.value };
});

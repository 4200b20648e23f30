#!/usr/bin/env node
// An external transform in JavaScript: the same rows as the Python transforms in
// tests/unit/test_pipeline.py (`order_rows`, `click_rows`), so the shared pipeline tests
// run over both. Route config:
//   transform = { command = ["node", "examples/node-transform/transform.js"] }
"use strict";

const { serve } = require("./sluice-transform.js");

function orderRows(order) {
  return { id: order.id, ts: order.ts, region: order.region, payload: order.payload };
}

function clickRows(click) {
  const rows = [];
  for (let n = 0; n < 2; n++) {
    rows.push({ id: click.id, n });
    if (click.fail_after === n + 1) {
      throw new Error(`failed after ${n + 1} rows`); // the rows so far are never written
    }
  }
  return rows;
}

const byType = { order: orderRows, click: clickRows };

serve((record) => {
  const transform = byType[record.type];
  if (!transform) {
    throw new TypeError(`no transform for type ${JSON.stringify(record.type)}`);
  }
  return transform(record);
});

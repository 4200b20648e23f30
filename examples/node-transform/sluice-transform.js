// The sluice external transform protocol, version 1 (docs/external-transforms.md), for Node.
// `serve(transform)` writes the handshake, then answers every JSON line read on stdin with
// exactly one line on stdout: {"ok": [rows]} or {"error": "reason", "error_type": "Name"}.
// `transform(record)` returns a row, an array of rows, or null (no rows); a throw becomes
// that record's error. Logs go to stderr: stdout carries the protocol only.
"use strict";

const readline = require("node:readline");

function answer(transform, line) {
  let record;
  try {
    record = JSON.parse(line);
  } catch (err) {
    return { error: `not JSON: ${err.message}`, error_type: "InvalidJson" };
  }
  try {
    const result = transform(record);
    const rows = result == null ? [] : Array.isArray(result) ? result : [result];
    return { ok: rows };
  } catch (err) {
    return { error: String(err && err.message ? err.message : err), error_type: err && err.name ? err.name : "Error" };
  }
}

function serve(transform) {
  process.stdout.write(JSON.stringify({ protocol: "sluice-transform", version: 1 }) + "\n");
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let pending = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    process.stdout.write(pending.join(""));
    pending = [];
  };
  input.on("line", (line) => {
    pending.push(JSON.stringify(answer(transform, line)) + "\n");
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush); // one write per burst of lines: a batch costs one pipe write
    }
  });
  input.on("close", () => {
    if (pending.length) flush();
  });
}

module.exports = { serve };

// The benchmark's external transform: each record back as its one row (protocol v1,
// docs/external-transforms.md), so the figure is the protocol's cost, not the work's.
"use strict";
const readline = require("node:readline");
process.stdout.write('{"protocol":"sluice-transform","version":1}\n');
let pending = [];
readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on("line", (line) => {
  if (pending.length === 0) setImmediate(flush);
  pending.push('{"ok":[' + line + "]}");
});
function flush() {
  process.stdout.write(pending.join("\n") + "\n");
  pending = [];
}

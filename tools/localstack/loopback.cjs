// Node preload (NODE_OPTIONS=--require <this file>) for the processes LocalStack starts,
// which are Node only: kinesis-local (kinesis-mock), LocalStack's Kinesis engine. It
// listens on every interface (0.0.0.0) with no setting to change that; this keeps every
// server of the process on loopback, so the emulator is never reachable from outside
// the machine.
"use strict";
const net = require("net");

const LOOPBACK = "127.0.0.1";
const WILDCARDS = new Set([undefined, null, "", "0.0.0.0", "::", "[::]"]);
const listen = net.Server.prototype.listen;

function isPort(value) {
  return typeof value === "number" || (typeof value === "string" && /^\d+$/.test(value));
}

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const first = args[0];
  if (first !== null && typeof first === "object" && !Array.isArray(first)) {
    // listen(options[, callback]); a path or a handle (no port) is left alone.
    if (first.port !== undefined && first.path === undefined && WILDCARDS.has(first.host)) {
      args[0] = { ...first, host: LOOPBACK };
    }
  } else if (isPort(first) || first === undefined) {
    // listen([port[, host[, backlog]]][, callback])
    if (typeof args[1] === "string") {
      if (WILDCARDS.has(args[1])) args[1] = LOOPBACK;
    } else {
      args.splice(1, 0, LOOPBACK);
      if (first === undefined) args[0] = 0;
    }
  }
  return listen.apply(this, args);
};

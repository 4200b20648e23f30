"""An external transform (protocol version 1) that misbehaves on purpose, for the tests of
consumer/pipeline/external.py. Usage: python faulty.py MODE STATE_DIR [TRIP_ID].

A record's row is the record itself (without "trip"), with "double" = 2 * n when it has an
"n"; a record with "fail" gets an error answer. A record trips when it has "trip" true or
its "id" is TRIP_ID. Modes:
- ok: behaves;
- crash-once / hang-once: the first process to see a tripping record exits (code 3,
  after a word on stderr) or sleeps forever; later processes (marker in STATE_DIR) behave;
- poison: every process exits when it sees a record with "trip";
- handshake-v2: announces protocol version 2; garbage: answers with a non-JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    mode, state = sys.argv[1], Path(sys.argv[2])
    trip_id = sys.argv[3] if len(sys.argv) > 3 else None
    version = 2 if mode == "handshake-v2" else 1
    sys.stdout.write(json.dumps({"protocol": "sluice-transform", "version": version}) + "\n")
    sys.stdout.flush()
    marker = state / "tripped"
    for line in sys.stdin:
        record = json.loads(line)
        with (state / "starts").open("a") as seen:
            seen.write(line)
        trips = record.get("trip") or (trip_id is not None and record.get("id") == trip_id)
        if trips and (mode == "poison" or not marker.exists()):
            if mode in ("crash-once", "poison"):
                marker.touch()
                sys.stderr.write(f"boom on record {record['id']}\n")
                sys.stderr.flush()
                sys.exit(3)
            if mode == "hang-once":
                marker.touch()
                time.sleep(3600)
        if mode == "garbage":
            sys.stdout.write("this is not json\n")
        elif record.get("fail"):
            sys.stdout.write(json.dumps({"error": "asked to fail", "error_type": "Asked"}) + "\n")
        else:
            row = {key: value for key, value in record.items() if key != "trip"}
            if "n" in record:
                row["double"] = 2 * record["n"]
            sys.stdout.write(json.dumps({"ok": [row]}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

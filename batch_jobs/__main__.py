"""`python -m batch_jobs run JOB ...` is `sluice batch run JOB ...`."""

from __future__ import annotations

import sys

from consumer.cli.main import main

sys.exit(main(["batch", *sys.argv[1:]]))

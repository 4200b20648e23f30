"""`python -m batch_jobs run JOB ...` is `sluice batch run JOB ...`."""

from __future__ import annotations

import sys

from batch_jobs.cli import main

sys.exit(main())

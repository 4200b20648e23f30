"""`python -m consumer` is the `sluice` command."""

from __future__ import annotations

import sys

from consumer.cli.main import main

sys.exit(main())

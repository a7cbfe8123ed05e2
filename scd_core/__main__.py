"""``python -m scd_core``: the ``scd`` command line."""

import sys

from scd_core.cli import main

sys.exit(main())

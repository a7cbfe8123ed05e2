import sys

from scd_core.cli import main

sys.exit(main())

"""``python -m kalshi_fix_sansio.simulator.testing.samples``: rewrite the shipped sample files."""

import sys

from . import main

sys.exit(main())

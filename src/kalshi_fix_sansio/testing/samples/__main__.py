"""``python -m kalshi_fix_sansio.testing.samples``: rewrite the shipped sample files."""

import sys

from . import main

sys.exit(main())

"""``python -m kalshi_fix_sansio.cli``: the ``kalshi-fix`` console script."""

import sys

from . import main

sys.exit(main())

"""``python -m codegen [--check] [--spec DIR] [--out DIR] [--package PATH] [--no-docs]``.

``python -m codegen drift [--dictionary PATH] [--spec DIR] [--product NAME] [--all]`` compares
the spec with Kalshi's XML dictionary (``spec/sources/``); see docs/maintainers/spec-changes.md.
"""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))

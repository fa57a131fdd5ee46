"""``python -m codegen [--check] [--spec DIR] [--out DIR]`` and ``python -m codegen drift``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))

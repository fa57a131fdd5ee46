"""Make the tests directory importable (scenario_runner, strategies, doc_examples)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gateway_fixtures import prediction_gateway, tls_gateway  # noqa: F401  (shared fixtures)

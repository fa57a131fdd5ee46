"""Deprecated home of the Prometheus exporter: import `kalshi_fix_sansio.observability.metrics_prometheus`.

The exporter does not depend on an event loop, so it moved into the package itself; this name
keeps working, with a `DeprecationWarning`, and goes in a later release.
"""

import warnings

from kalshi_fix_sansio.observability.metrics_prometheus import (
    PREFIX,
    SessionCollector,
    metric_families,
)

__all__ = ["PREFIX", "SessionCollector", "metric_families"]

warnings.warn(
    "kalshi_fix_sansio.adapters.metrics_prometheus moved: import "
    "kalshi_fix_sansio.observability.metrics_prometheus",
    DeprecationWarning,
    stacklevel=2,
)

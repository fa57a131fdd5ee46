"""The margin (perps) dialect: every message class, enums, `decode` and `encode`.

Prices are fixed-point dollars on the wire (UseDollars is always on for margin).
"""

from ._generated.margin import *  # noqa: F403
from ._generated.margin import __all__ as __all__

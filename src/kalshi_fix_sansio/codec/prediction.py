"""The prediction (event contracts) dialect: every message class, enums, `decode` and `encode`.

Examples:
    >>> from decimal import Decimal
    >>> from kalshi_fix_sansio import prediction as p
    >>> order = p.NewOrderSingle(cl_ord_id="o-1", side=p.Side.BUY, order_qty=Decimal(10),
    ...                          ord_type=p.OrdType.LIMIT, price=Decimal("0.55"), symbol="X")
"""

from ._generated.prediction import *  # noqa: F403
from ._generated.prediction import __all__ as __all__

"""Which session types carry which messages: the exchange's view of ``spec/sessions.yaml``.

The session table (`kalshi_fix_sansio.codec._generated.tables.SESSIONS`, generated from the spec)
lists per product and session type the application messages a client may ``send`` and those it
may ``receive``. The exchange takes its routing from it instead of keeping copies:

* a request is accepted only on the session types whose ``send`` lists its MsgType (35=D/F/G/UOG
  on KalshiNR and KalshiRT, 35=q on KalshiNR, 35=U1 on KalshiDC and KalshiNR, 35=V/e on
  KalshiMD, 35=R/UA/UE on KalshiRT, 35=S/Z/U7 on KalshiRFQ);
* an order's reports fall back, when the placing session is gone, to the account's sessions
  that may place orders (``send`` has 35=D);
* RFQ messages for a creator go to the sessions that create RFQs (``send`` has 35=R), those
  for a maker and the RFQ broadcasts to the sessions that quote (``send`` has 35=S);
* MarketSettlementReports go to the session types whose ``receive`` lists 35=UMS.

The session types that get settlement reports without asking are the table's too
(`SETTLEMENT_BY_DEFAULT`: ReceiveSettlementReports in ``logon_flags_default_y``, KalshiPT
only). What a listener session may not send is the table's ``listener_refused``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs

from ....codec import SESSIONS

__all__ = [
    "NEW_ORDER",
    "QUOTE",
    "QUOTE_REQUEST",
    "SESSION_TYPES",
    "SETTLEMENT_BY_DEFAULT",
    "SETTLEMENT_REPORT",
    "SessionRouting",
]

SESSION_TYPES: Final = frozenset(spec.name for spec in SESSIONS.values())
"""Session types `Exchange.connect` accepts (every session type of the spec)."""

NEW_ORDER: Final = "D"
QUOTE_REQUEST: Final = "R"
QUOTE: Final = "S"
SETTLEMENT_REPORT: Final = "UMS"


SETTLEMENT_BY_DEFAULT: Final = frozenset(
    spec.name
    for spec in SESSIONS.values()
    if "ReceiveSettlementReports" in spec.logon_flags_default_y
)
"""Session types that receive settlement reports when the Logon leaves ReceiveSettlementReports
out (the spec's ``logon_flags_default_y``: KalshiPT); 20127=N turns them off there too."""


def _by_type(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for msg_type, session_type in pairs:
        out.setdefault(msg_type, set()).add(session_type)
    return {msg_type: frozenset(types) for msg_type, types in out.items()}


@attrs.frozen
class SessionRouting:
    """The session table of one product, indexed by message type.

    Attributes:
        product: ``"prediction"`` or ``"margin"``.
        senders: MsgType -> the session types a client may send it on.
        receivers: MsgType -> the session types that receive it.
        listener_refused: session type -> what a listener session of that type may not send
            (answered with 35=j 380=3).
    """

    product: str
    senders: dict[str, frozenset[str]]
    receivers: dict[str, frozenset[str]]
    listener_refused: dict[str, frozenset[str]]

    @classmethod
    def for_product(cls, product: str) -> SessionRouting:
        """The routing of ``product`` from the generated session table."""
        specs = [spec for spec in SESSIONS.values() if spec.product == product]
        return cls(
            product,
            _by_type((mt, spec.name) for spec in specs for mt in spec.send),
            _by_type((mt, spec.name) for spec in specs for mt in spec.receive),
            {spec.name: frozenset(spec.listener_refused) for spec in specs},
        )

    def refused_to_listener(self, session_type: str, msg_type: str) -> bool:
        """Whether a listener session of ``session_type`` may not send ``msg_type``."""
        return msg_type in self.listener_refused.get(session_type, frozenset())

    def sent_on(self, msg_type: str) -> frozenset[str]:
        """Session types a client may send ``msg_type`` on (empty: none)."""
        return self.senders.get(msg_type, frozenset())

    def received_on(self, msg_type: str) -> frozenset[str]:
        """Session types that receive ``msg_type`` (empty: none)."""
        return self.receivers.get(msg_type, frozenset())

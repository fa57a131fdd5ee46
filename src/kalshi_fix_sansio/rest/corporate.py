"""Kalshi's margin corporate actions read from its REST API (sans-IO: no I/O, no clock).

`CorporateActionsFetch` reads ``GET /margin/corporate_actions`` (public market data: no key
needed; ``ticker`` filters one market): the scheduled notices and those updated in the last seven
days, each read into a `kalshi_fix_sansio.trading.corporate.CorporateAction`; ``actions`` are
those in force (`kalshi_fix_sansio.trading.corporate.CorporateActions`), which a session's P&L
(``tracker.pnl(symbol, corporate=..., now=...)``), a paper replay and a backtest
(``--corporate-actions FILE``: the page saved, ``page``) apply to the positions.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ..codec.errors import LocalProtocolError
from ..session import Credentials
from ..trading.corporate import CorporateAction, CorporateActions, parse_corporate_action
from ._accountpages import AccountPages
from .pages import API_PREFIX

__all__ = ["CORPORATE_ACTIONS_PATH", "CorporateActionsFetch"]

CORPORATE_ACTIONS_PATH: Final = f"{API_PREFIX}/margin/corporate_actions"
"""Kalshi's path of the margin corporate actions."""


class CorporateActionsFetch(AccountPages):
    """Read Kalshi's margin corporate actions (see the module).

    Args:
        ticker: one market's notices (None: every margin market's).
        credentials: an API key to sign with (None: unsigned, as Kalshi serves them).
        environment: ``"demo"`` or ``"production"``.
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        max_retries: 429 / 5xx answers before it is given up.
        retry_delay: the first delay after a 429 / 5xx without ``Retry-After`` (doubling).

    Raises:
        LocalProtocolError: an argument out of range (named).
    """

    def __init__(
        self,
        ticker: str | None = None,
        *,
        credentials: Credentials | None = None,
        environment: str = "production",
        base_url: str | None = None,
        max_retries: int = 4,
        retry_delay: float = 0.5,
    ) -> None:
        if ticker is not None and (
            not isinstance(ticker, str) or not 0 < len(ticker) <= 64 or not ticker.isprintable()
        ):
            raise LocalProtocolError(f"ticker must be a market ticker, got {ticker!r}")
        if credentials is not None and not isinstance(credentials, Credentials):
            raise LocalProtocolError("credentials must be Credentials or None")
        super().__init__(
            [("corporate_actions", CORPORATE_ACTIONS_PATH)],
            credentials=credentials,
            environment=environment,
            base_url=base_url,
            max_retries=max_retries,
            retry_delay=retry_delay,
        )
        if ticker is not None:
            self._tasks[0].pager.extra = (("ticker", ticker),)
        self.notices: list[CorporateAction] = []
        """Every notice read (cancelled and lapsed ones too)."""
        self.page: dict[str, Any] | None = None
        """The answer as read (what ``--corporate-actions FILE`` takes, saved as JSON)."""

    @property
    def actions(self) -> CorporateActions | None:
        """The notices in force (None: the page was not read)."""
        return None if self.page is None else CorporateActions(self.notices)

    def dumps(self) -> str:
        """The page read as JSON text (``{"corporate_actions": [...]}``), for a file.

        Raises:
            LocalProtocolError: nothing was read.
        """
        if self.page is None:
            raise LocalProtocolError("no corporate actions were read")
        return json.dumps({"corporate_actions": self.page["corporate_actions"]}, indent=2) + "\n"

    def _take(self, kind: str, path: str, page: dict[str, Any], now: float) -> None:
        records = page.get("corporate_actions")
        if records is None:  # Kalshi's NullableList: null is none
            records = []
        if not isinstance(records, list):
            self.missing.append(f"{path}: unreadable (no corporate_actions list)")
            return
        kept: list[Any] = []
        for record in records:
            read = parse_corporate_action(record) if isinstance(record, dict) else "not an object"
            if isinstance(read, str):
                self.missing.append(read)
                continue
            self.notices.append(read)
            kept.append(record)
        self.page = {"corporate_actions": kept}

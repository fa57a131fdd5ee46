"""Settlement reassembly: MarketSettlementReport (35=UMS) pages -> one report per settlement.

Kalshi sends a market's settlement (prediction only) as one or more MarketSettlementReport
pages. Every page has its own MarketSettlementReportID(20105); the pages of one settlement share
Symbol(55) and ClearingBusinessDate(715), may carry TotNumMarketSettlementReports(20106, the
number of pages) and mark the last one with LastFragment(893)=Y. `SettlementAssembler` joins
them into one `SettlementReport`. It is sans-IO: it reads no clock (``now`` is passed in) and
does no I/O.

    >>> from kalshi_fix_sansio.trading.settlement import SettlementAssembler
    >>> assembler = SettlementAssembler(timeout=300.0)
    >>> assembler.pending
    ()

Rules (see docs/settlement.md):

* A batch is identified by (Symbol, ClearingBusinessDate). Its header (MarketResult,
  SettlementPrice, TotNumMarketSettlementReports) comes from its first accepted page; a page
  that disagrees is not merged and is reported (`ProblemKind.INCONSISTENT_BATCH`).
* A batch is complete when, with TotNumMarketSettlementReports = N, N distinct pages arrived
  and one of them has LastFragment=Y (or none carries LastFragment); without it, when the page
  with LastFragment=Y arrived; a page with neither tag is a settlement by itself.
* A page whose MarketSettlementReportID was seen before is a duplicate: ignored and counted
  when identical, reported (`ProblemKind.CONFLICTING_DUPLICATE`) when not.
* A page missing a field it needs, or whose needed values did not decode, is reported
  (`ProblemKind.MALFORMED`) and not merged.
* `poll` gives up on batches quiet for ``timeout`` seconds: `IncompleteSettlement` says what
  is missing.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from ..codec import Defect
from ..session.events import ApplicationMessage
from ._orders import CollateralChange, _int
from ._orders import _code as _text

__all__ = [
    "DEFAULT_MAX_COMPLETED",
    "DEFAULT_TIMEOUT",
    "IncompleteSettlement",
    "ProblemKind",
    "SettlementAssembler",
    "SettlementParty",
    "SettlementProblem",
    "SettlementReport",
    "SettlementUpdate",
]

DEFAULT_TIMEOUT = 300.0
"""Seconds a batch may stay without a new page before `SettlementAssembler.poll` expires it."""
DEFAULT_MAX_COMPLETED = 1000
"""How many completed batches a `SettlementAssembler` remembers to recognise late resends."""

_ZERO = Decimal(0)
_MSG_TYPE = "UMS"
_PAYOUT = "PAYOUT"
_RESULTS = ("yes", "no", "scalar")
# Tags whose values the assembler reads: a defect on one of them makes the page unusable, except
# an enum value the spec does not list (reason 5), which is kept as text.
_READ_TAGS = frozenset(
    {20105, 55, 715, 20106, 20107, 730, 893, 20108, 20109, 20110, 704, 705}
    | {1703, 1704, 1705, 136, 137, 138, 139, 891}
)
_ENUM_OUT_OF_RANGE = 5


class ProblemKind(str, enum.Enum):
    """Why a `SettlementProblem` was reported (`str()` is the value)."""

    MALFORMED = "malformed"
    """A page lacks a field the assembler needs, or a value it reads did not decode; the page is
    not merged."""
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    """A page reuses a MarketSettlementReportID already seen, with different content; the first
    content is kept."""
    INCONSISTENT_BATCH = "inconsistent_batch"
    """A page's MarketResult, SettlementPrice or TotNumMarketSettlementReports differs from its
    batch's; the page is not merged."""
    TOO_MANY_PAGES = "too_many_pages"
    """More distinct pages arrived than TotNumMarketSettlementReports announced; the batch
    cannot complete and will expire."""
    NO_LAST_PAGE = "no_last_page"
    """All TotNumMarketSettlementReports pages arrived but none has LastFragment=Y; the batch
    cannot complete and will expire."""
    DUPLICATE_PARTY = "duplicate_party"
    """A completed report lists the same MarketSettlementPartyID more than once (all entries are
    kept in the report)."""
    REOPENED = "reopened"
    """A page with a new ID arrived for a (Symbol, ClearingBusinessDate) batch already completed;
    it starts a new batch."""

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class SettlementParty:
    """One party entry (NoMarketSettlementPartyIDs) of a settlement.

    Attributes:
        party_id: MarketSettlementPartyID(20109).
        role: MarketSettlementPartyRole(20110) (24 = customer account), None when absent.
        long_qty: LongQty(704), YES contracts held.
        short_qty: ShortQty(705), NO contracts held.
        collateral: the NoCollateralAmountChanges entries (1704 dollars, 1705 type).
        fee: the sum of MiscFeeAmt(137) in dollars (0 when none), already deducted from the
            payout.
        report_id: MarketSettlementReportID(20105) of the page the entry came from.
    """

    party_id: str
    role: int | None
    long_qty: Decimal | None
    short_qty: Decimal | None
    collateral: tuple[CollateralChange, ...]
    fee: Decimal
    report_id: str

    @property
    def payout(self) -> Decimal | None:
        """The sum of the PAYOUT collateral changes in dollars, after the fee (None if none)."""
        amounts = [c.amount for c in self.collateral if c.type == _PAYOUT]
        return sum(amounts, _ZERO) if amounts else None

    @property
    def pre_fee_payout(self) -> Decimal | None:
        """``payout + fee``: the payout before the settlement fee was deducted."""
        payout = self.payout
        return None if payout is None else payout + self.fee


def _sum(values: Iterator[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), _ZERO)


@attrs.frozen
class SettlementReport:
    """One market settlement, assembled from all its pages.

    Equal reports come out of any order of arrival of the same pages, duplicates included:
    parties are sorted by (party ID, page ID, position in the page) and `report_ids` by ID.

    Attributes:
        symbol: Symbol(55), the market ticker.
        clearing_business_date: ClearingBusinessDate(715).
        market_result: MarketResult(20107) as lower-case text (``"yes"``, ``"no"``,
            ``"scalar"``; an unlisted value as sent).
        settlement_price: SettlementPrice(730) in dollars (cents on the wire, ``100.00`` ->
            ``Decimal("1.0000")``), the pre-fee YES price.
        parties: every party entry of every page, in the stable order above.
        report_ids: the MarketSettlementReportIDs of the pages, sorted.
        total_pages: TotNumMarketSettlementReports(20106) when a page carried it.
        defects: the decode defects of the pages that did not affect the values read (for
            instance an undefined tag), in page-ID order.
    """

    symbol: str
    clearing_business_date: date
    market_result: str
    settlement_price: Decimal
    parties: tuple[SettlementParty, ...]
    report_ids: tuple[str, ...]
    total_pages: int | None = None
    defects: tuple[Defect, ...] = ()
    # party ID -> its entries, made on the first `entries` call: a lookup per party of a
    # settlement of many parties would otherwise walk them all each time (quadratic)
    _by_party: dict[str, tuple[SettlementParty, ...]] | None = attrs.field(
        default=None, init=False, eq=False, repr=False
    )

    @property
    def party_ids(self) -> tuple[str, ...]:
        """The distinct party IDs, sorted."""
        return tuple(sorted({p.party_id for p in self.parties}))

    def entries(self, party_id: str) -> tuple[SettlementParty, ...]:
        """A party's entries (normally one).

        Raises:
            KeyError: the party is not in this settlement.
        """
        by_party = self._by_party
        if by_party is None:
            grouped: dict[str, list[SettlementParty]] = {}
            for party in self.parties:
                grouped.setdefault(party.party_id, []).append(party)
            by_party = {key: tuple(found) for key, found in grouped.items()}
            object.__setattr__(self, "_by_party", by_party)  # a frozen class's cache
        found = by_party.get(party_id, ())
        if not found:
            raise KeyError(
                f"party {party_id!r} is not in the settlement of {self.symbol} "
                f"{self.clearing_business_date.isoformat()}"
            )
        return found

    def payout(self, party_id: str) -> Decimal:
        """A party's PAYOUT in dollars after fees (summed over its entries; 0 when none)."""
        return _sum(p.payout for p in self.entries(party_id))

    def fee(self, party_id: str) -> Decimal:
        """A party's settlement fee in dollars (summed over its entries)."""
        return _sum(p.fee for p in self.entries(party_id))

    def long_qty(self, party_id: str) -> Decimal:
        """A party's LongQty (YES contracts), summed over its entries."""
        return _sum(p.long_qty for p in self.entries(party_id))

    def short_qty(self, party_id: str) -> Decimal:
        """A party's ShortQty (NO contracts), summed over its entries."""
        return _sum(p.short_qty for p in self.entries(party_id))

    @property
    def total_payout(self) -> Decimal:
        """The sum of every party's payout."""
        return _sum(p.payout for p in self.parties)

    @property
    def total_fee(self) -> Decimal:
        """The sum of every party's fee."""
        return _sum(p.fee for p in self.parties)


@attrs.frozen
class IncompleteSettlement:
    """A batch that did not complete (from `SettlementAssembler.poll` / `flush`), or a pending
    one (`SettlementAssembler.pending`).

    Attributes:
        symbol, clearing_business_date: the batch.
        market_result, settlement_price: from its first accepted page.
        report_ids: the IDs of the pages merged, sorted.
        expected_pages: TotNumMarketSettlementReports when a page carried it.
        last_page_seen: a page with LastFragment=Y was merged.
        parties: the party entries received, in the stable order of `SettlementReport`.
        rejected_ids: IDs of pages of this batch that were not merged (inconsistent headers).
        first_seen, last_seen: ``now`` of the first and the latest page of the batch.
    """

    symbol: str
    clearing_business_date: date
    market_result: str
    settlement_price: Decimal
    report_ids: tuple[str, ...]
    expected_pages: int | None
    last_page_seen: bool
    parties: tuple[SettlementParty, ...]
    rejected_ids: tuple[str, ...]
    first_seen: float
    last_seen: float

    @property
    def pages_seen(self) -> int:
        """How many distinct pages were merged."""
        return len(self.report_ids)

    @property
    def missing_pages(self) -> int | None:
        """``expected_pages - pages_seen`` (never below 0), None when the total is unknown."""
        if self.expected_pages is None:
            return None
        return max(self.expected_pages - self.pages_seen, 0)

    @property
    def reason(self) -> str:
        """What is missing, in words."""
        total = "?" if self.expected_pages is None else str(self.expected_pages)
        last = "last page seen" if self.last_page_seen else "last page (LastFragment=Y) not seen"
        text = f"{self.symbol} {self.clearing_business_date.isoformat()}: "
        text += f"{self.pages_seen} of {total} pages, {last}"
        if self.rejected_ids:
            text += f", {len(self.rejected_ids)} page(s) rejected"
        return text


@attrs.frozen
class SettlementProblem:
    """Something wrong with a page or a batch, reported instead of fixed.

    Attributes:
        kind: the `ProblemKind`.
        text: what is wrong and where (symbol, date, page ID, field).
        symbol, clearing_business_date, report_id: the batch and page, when known.
        defects: the page's decode defects (for `ProblemKind.MALFORMED`).
        message: the message at fault, if any.
    """

    kind: ProblemKind
    text: str
    symbol: str | None = None
    clearing_business_date: date | None = None
    report_id: str | None = None
    defects: tuple[Defect, ...] = ()
    message: Any = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen
class SettlementUpdate:
    """What one `SettlementAssembler.on_message` call produced.

    Iterating it (``len``, ``bool``) goes over `reports`.

    Attributes:
        reports: settlements completed by this message (zero or one).
        problems: problems found, in order.
        duplicate: the message was an identical copy of a page already seen (ignored).
    """

    reports: tuple[SettlementReport, ...] = ()
    problems: tuple[SettlementProblem, ...] = ()
    duplicate: bool = False

    def __iter__(self) -> Iterator[SettlementReport]:
        return iter(self.reports)

    def __len__(self) -> int:
        return len(self.reports)


# -- internal ---------------------------------------------------------------------------------


@attrs.frozen
class _Page:
    """One accepted page, as read (equality = same content; defects and message excluded)."""

    report_id: str
    symbol: str
    clearing_business_date: date
    total: int | None
    market_result: str
    settlement_price: Decimal
    last: bool | None
    parties: tuple[SettlementParty, ...]
    defects: tuple[Defect, ...] = attrs.field(default=(), eq=False)
    message: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def key(self) -> tuple[str, date]:
        return (self.symbol, self.clearing_business_date)


@attrs.define
class _Batch:
    head: _Page
    first_seen: float
    last_seen: float
    pages: dict[str, _Page] = attrs.field(factory=dict)
    rejected: dict[str, None] = attrs.field(factory=dict)  # report IDs, in order, each once

    @property
    def total(self) -> int | None:
        for page in self.pages.values():
            if page.total is not None:
                return page.total
        return None

    @property
    def last_seen_page(self) -> bool:
        return any(page.last for page in self.pages.values())

    def parties(self) -> tuple[SettlementParty, ...]:
        entries = [
            (party.party_id, page_id, i, party)
            for page_id, page in self.pages.items()
            for i, party in enumerate(page.parties)
        ]
        return tuple(e[3] for e in sorted(entries, key=lambda e: e[:3]))

    def incomplete(self) -> IncompleteSettlement:
        head = self.head
        return IncompleteSettlement(
            symbol=head.symbol,
            clearing_business_date=head.clearing_business_date,
            market_result=head.market_result,
            settlement_price=head.settlement_price,
            report_ids=tuple(sorted(self.pages)),
            expected_pages=self.total,
            last_page_seen=self.last_seen_page,
            parties=self.parties(),
            rejected_ids=tuple(self.rejected),
            first_seen=self.first_seen,
            last_seen=self.last_seen,
        )

    def report(self) -> SettlementReport:
        head = self.head
        ids = tuple(sorted(self.pages))
        return SettlementReport(
            symbol=head.symbol,
            clearing_business_date=head.clearing_business_date,
            market_result=head.market_result,
            settlement_price=head.settlement_price,
            parties=self.parties(),
            report_ids=ids,
            total_pages=self.total,
            defects=tuple(d for i in ids for d in self.pages[i].defects),
        )


def _where(message: Any) -> str:
    parts = [f"{name}={getattr(message, attr, None)!r}" for name, attr in _WHERE]
    return "MarketSettlementReport(" + ", ".join(parts) + ")"


_WHERE = (
    ("MarketSettlementReportID(20105)", "market_settlement_report_id"),
    ("Symbol(55)", "symbol"),
    ("ClearingBusinessDate(715)", "clearing_business_date"),
)
_NEEDED = (
    ("MarketSettlementReportID(20105)", "market_settlement_report_id"),
    ("Symbol(55)", "symbol"),
    ("ClearingBusinessDate(715)", "clearing_business_date"),
    ("MarketResult(20107)", "market_result"),
    ("SettlementPrice(730)", "settlement_price"),
)


def _result(value: Any) -> str:
    text = _text(value) or ""
    return text.lower() if text.lower() in _RESULTS else text


def _read_party(entry: Any, report_id: str) -> SettlementParty | None:
    party_id = _text(entry.market_settlement_party_id)
    if party_id is None:
        return None
    return SettlementParty(
        party_id=party_id,
        role=_int(entry.market_settlement_party_role),
        long_qty=entry.long_qty,
        short_qty=entry.short_qty,
        collateral=tuple(
            CollateralChange(c.collateral_amount_change, _text(c.collateral_amount_type))
            for c in entry.collateral_amount_changes or ()
            if c.collateral_amount_change is not None
        ),
        fee=_sum(f.misc_fee_amt for f in entry.misc_fees or ()),
        report_id=report_id,
    )


def _read(message: Any) -> _Page | SettlementProblem:
    """Read one page, or say why it cannot be used."""
    defects = tuple(message.check()) if hasattr(message, "check") else ()
    fatal = [
        d
        for d in defects
        if (d.tag is None or d.tag in _READ_TAGS) and d.reason != _ENUM_OUT_OF_RANGE
    ]
    missing = [name for name, attr in _NEEDED if getattr(message, attr, None) is None]
    symbol = _text(getattr(message, "symbol", None))
    clearing = getattr(message, "clearing_business_date", None)
    report_id = _text(getattr(message, "market_settlement_report_id", None))
    entries = tuple(getattr(message, "market_settlement_party_ids", None) or ())
    parties = [_read_party(e, report_id or "") for e in entries]
    if any(p is None for p in parties):
        missing.append("MarketSettlementPartyID(20109) in a party entry")
    if fatal or missing:
        what = [f"lacks {', '.join(missing)}"] if missing else []
        what += [d.text for d in fatal]
        return SettlementProblem(
            ProblemKind.MALFORMED,
            f"{_where(message)} cannot be used: " + "; ".join(what),
            symbol=symbol,
            clearing_business_date=clearing,
            report_id=report_id,
            defects=defects,
            message=message,
        )
    assert report_id is not None and symbol is not None and clearing is not None
    last = message.last_fragment
    return _Page(
        report_id=report_id,
        symbol=symbol,
        clearing_business_date=clearing,
        total=_int(message.tot_num_market_settlement_reports),
        market_result=_result(message.market_result),
        settlement_price=message.settlement_price,
        last=None if last is None else bool(last),
        parties=tuple(p for p in parties if p is not None),
        defects=defects,
        message=message,
    )


def _header_conflict(batch: _Batch, page: _Page) -> str | None:
    head = batch.head
    diffs = []
    if page.market_result != head.market_result:
        diffs.append(f"MarketResult(20107) {page.market_result!r} != {head.market_result!r}")
    if page.settlement_price != head.settlement_price:
        diffs.append(
            f"SettlementPrice(730) {page.settlement_price} != {head.settlement_price} (dollars)"
        )
    total = batch.total
    if page.total is not None and total is not None and page.total != total:
        diffs.append(f"TotNumMarketSettlementReports(20106) {page.total} != {total}")
    return "; ".join(diffs) or None


class SettlementAssembler:
    """Joins MarketSettlementReport pages into `SettlementReport` values (module docstring).

    Feed it decoded messages with `on_message` (or session events with `on_event`), and call
    `poll` now and then to expire batches that stopped receiving pages.

    Args:
        timeout: seconds a batch may go without a page before `poll` expires it.
        max_completed: how many completed batches are remembered, so that a late resend of one
            of their pages is recognised as a duplicate (older ones are forgotten first).

    Raises:
        ValueError: ``timeout`` not positive or ``max_completed`` negative.
    """

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, max_completed: int = DEFAULT_MAX_COMPLETED
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if max_completed < 0:
            raise ValueError(f"max_completed must be >= 0, got {max_completed!r}")
        self.timeout = float(timeout)
        self.max_completed = max_completed
        self._pending: dict[tuple[str, date], _Batch] = {}
        self._seen: dict[str, _Page] = {}  # report ID -> page, pending and remembered batches
        self._completed: deque[tuple[tuple[str, date], tuple[str, ...]]] = deque()
        self._completed_keys: dict[tuple[str, date], int] = {}
        self._duplicates = 0

    # -- queries -------------------------------------------------------------------------------

    @property
    def pending(self) -> tuple[IncompleteSettlement, ...]:
        """The batches still waiting for pages, oldest first (snapshots)."""
        batches = sorted(self._pending.values(), key=lambda b: (b.first_seen, b.head.key))
        return tuple(b.incomplete() for b in batches)

    @property
    def duplicates(self) -> int:
        """How many identical duplicate pages were ignored so far."""
        return self._duplicates

    # -- input ---------------------------------------------------------------------------------

    def on_event(self, event: Any, now: float) -> SettlementUpdate:
        """Feed a session event: `ApplicationMessage` is used, anything else ignored."""
        if isinstance(event, ApplicationMessage):
            return self.on_message(event.message, now)
        return SettlementUpdate()

    def on_message(self, message: Any, now: float) -> SettlementUpdate:
        """Feed one decoded message (35=UMS is used, others ignored).

        Args:
            message: a decoded (or built) message.
            now: the current time in seconds (any monotonic or epoch clock, used consistently
                with `poll`).

        Returns:
            The settlement completed by this page (if any) and the problems found.
        """
        if getattr(message, "MSG_TYPE", None) != _MSG_TYPE:
            return SettlementUpdate()
        read = _read(message)
        if isinstance(read, SettlementProblem):
            if read.symbol is not None and read.clearing_business_date is not None:
                batch = self._pending.get((read.symbol, read.clearing_business_date))
                if batch is not None:
                    batch.last_seen = now
            return SettlementUpdate(problems=(read,))
        page = read
        known = self._seen.get(page.report_id)
        if known is not None:
            batch = self._pending.get(known.key)
            if batch is not None and page.report_id in batch.pages:
                batch.last_seen = now
            if known == page:
                self._duplicates += 1
                return SettlementUpdate(duplicate=True)
            return SettlementUpdate(problems=(self._conflict(known, page),))
        return self._add(page, now)

    def poll(self, now: float) -> list[IncompleteSettlement]:
        """Expire the batches whose latest page is more than ``timeout`` seconds old.

        Their pages are forgotten: a later page of the same settlement starts a new batch.

        Returns:
            The expired batches, oldest first.
        """
        due = [k for k, b in self._pending.items() if now - b.last_seen > self.timeout]
        return self._drop(due)

    def flush(self) -> list[IncompleteSettlement]:
        """Expire every pending batch now (for example at shutdown).

        Returns:
            The batches that were pending, oldest first.
        """
        return self._drop(list(self._pending))

    # -- internals -----------------------------------------------------------------------------

    def _drop(self, keys: list[tuple[str, date]]) -> list[IncompleteSettlement]:
        batches = sorted(
            (self._pending.pop(k) for k in keys), key=lambda b: (b.first_seen, b.head.key)
        )
        for batch in batches:
            for report_id in batch.pages:
                self._seen.pop(report_id, None)
        return [b.incomplete() for b in batches]

    def _conflict(self, known: _Page, page: _Page) -> SettlementProblem:
        fields = [f.name for f in attrs.fields(_Page) if f.eq]
        differ = [f for f in fields if getattr(known, f) != getattr(page, f)]
        return SettlementProblem(
            ProblemKind.CONFLICTING_DUPLICATE,
            f"MarketSettlementReportID(20105) {page.report_id!r} was seen before with different "
            f"content ({', '.join(differ)}); the first one is kept",
            symbol=page.symbol,
            clearing_business_date=page.clearing_business_date,
            report_id=page.report_id,
            defects=page.defects,
            message=page.message,
        )

    def _problem(
        self, kind: ProblemKind, batch: _Batch, text: str, page: _Page
    ) -> SettlementProblem:
        head = batch.head
        where = f"{head.symbol} {head.clearing_business_date.isoformat()}"
        return SettlementProblem(
            kind,
            f"settlement {where}: {text}",
            symbol=head.symbol,
            clearing_business_date=head.clearing_business_date,
            report_id=page.report_id,
            message=page.message,
        )

    def _add(self, page: _Page, now: float) -> SettlementUpdate:
        problems: list[SettlementProblem] = []
        batch = self._pending.get(page.key)
        if batch is None:
            batch = self._pending[page.key] = _Batch(page, now, now)
            if page.key in self._completed_keys:
                text = (
                    f"page {page.report_id!r} arrived after this settlement was completed; "
                    "it starts a new batch"
                )
                problems.append(self._problem(ProblemKind.REOPENED, batch, text, page))
        batch.last_seen = now
        conflict = _header_conflict(batch, page)
        if conflict is not None:
            batch.rejected[page.report_id] = None
            text = f"page {page.report_id!r} disagrees with the batch: {conflict}; not merged"
            problems.append(self._problem(ProblemKind.INCONSISTENT_BATCH, batch, text, page))
            return SettlementUpdate(problems=tuple(problems))
        batch.pages[page.report_id] = page
        self._seen[page.report_id] = page
        if not self._complete(batch, page, problems):
            return SettlementUpdate(problems=tuple(problems))
        del self._pending[page.key]
        self._remember(page.key, tuple(batch.pages))
        report = batch.report()
        # each party's pages in one pass (a pass per party seen twice was quadratic in them)
        pages_of: dict[str, list[str]] = {}
        for party in report.parties:
            pages_of.setdefault(party.party_id, []).append(party.report_id)
        for party_id, ids in pages_of.items():
            if len(ids) > 1:
                pages = ", ".join(sorted(set(ids)))
                text = f"party {party_id!r} appears {len(ids)} times (pages {pages})"
                problems.append(self._problem(ProblemKind.DUPLICATE_PARTY, batch, text, page))
        return SettlementUpdate(reports=(report,), problems=tuple(problems))

    def _complete(self, batch: _Batch, page: _Page, problems: list[SettlementProblem]) -> bool:
        total = batch.total
        flagged = any(p.last is not None for p in batch.pages.values())
        if total is None:
            return batch.last_seen_page or not flagged
        seen = len(batch.pages)
        if seen < total:
            return False
        if seen == total and (batch.last_seen_page or not flagged):
            return True
        if seen > total:
            text = f"{seen} distinct pages but TotNumMarketSettlementReports(20106) is {total}"
            problems.append(self._problem(ProblemKind.TOO_MANY_PAGES, batch, text, page))
        else:
            text = f"all {total} pages arrived but none has LastFragment(893)=Y"
            problems.append(self._problem(ProblemKind.NO_LAST_PAGE, batch, text, page))
        return False

    def _remember(self, key: tuple[str, date], ids: tuple[str, ...]) -> None:
        self._completed.append((key, ids))
        self._completed_keys[key] = self._completed_keys.get(key, 0) + 1
        while len(self._completed) > self.max_completed:
            old_key, old_ids = self._completed.popleft()
            for report_id in old_ids:
                self._seen.pop(report_id, None)
            left = self._completed_keys[old_key] - 1
            if left:
                self._completed_keys[old_key] = left
            else:
                del self._completed_keys[old_key]

"""One Kalshi account, many sessions: the budgets the sessions of an account's keys share.

Kalshi allows one FIX connection per API key, so a desk runs several keys (order entry, a
listener, drop copy, post trade, market data) on one account, and Kalshi counts them together:
the application messages of every key drain the account's Read / Write buckets (REST included),
and Logons are rate-limited too. An `Account` is shared by every client of the account's keys
(``FixClient(credentials, account=account)``; the margin client alike) and holds:

* the **Logon budget**: at most ``AccountLimits.logons_per_second`` Logons a second across the
  account's sessions, given in order when they connect together (`LOGON_ORDER`: order entry
  first, so that a kill can run, then RFQ, then drop copy / post trade / listener sessions,
  market data last);
* the **application-message budget**: one `RateLimiter` (``account.limiter``) every session of
  the account bills, so that a `RateLimited` (35=j 380=8) on any of them empties the buckets
  the refused message billed for all of them;
* its **limits** as data (`AccountLimits`): the tier and budgets, from the published tables or
  from Kalshi's REST answer (`AccountLimits.from_rest`: ``GET /account/limits``, or
  ``GET /account/limits/perps`` for margin, whose budgets Kalshi publishes per account only).

A key that is not one of the account's is refused when the client is made
(`AccountKeyError`). Everything here is sans-IO: the supervisors ask the account when to
connect, and the adapters only sleep as told.

Examples:
    >>> from kalshi_fix_sansio.client.account import Account, AccountLimits
    >>> desk = Account("desk-1", keys=["key-oe", "key-md"], limits=AccountLimits(tier="Premier"))
    >>> desk.limiter.tier.write, desk.limits.logons_per_second
    (1200, 1.0)
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypedDict

import attrs

from ..codec.errors import FixError, LocalProtocolError, RemoteProtocolError, TransportError
from ..rest.pages import (
    RestRequest,
    RestResponse,
    check_base_url,
    rest_base_url,
    rest_headers,
    rest_path,
)
from ..session import Credentials
from ..session.ratelimit import PREDICTION_TIERS, RateLimiter, Tier
from ._logons import DEFAULT_LOGON_MARGIN, LogonSchedule

if TYPE_CHECKING:
    from ._tlsconfig import SSLContext

__all__ = [
    "DEFAULT_GATHER",
    "DEFAULT_LOGONS_PER_SECOND",
    "DEFAULT_LOGON_MARGIN",
    "LOGON_ORDER",
    "MAX_BUDGET",
    "PERPS_READ_BURST",
    "QUOTES_KEPT",
    "TIER_NAMES",
    "Account",
    "AccountKeyError",
    "AccountLimits",
    "LimitsQuery",
    "LimitsRead",
    "limits_from_response",
    "limits_read",
    "limits_request",
    "logon_rank",
    "perps_tier",
]

DEFAULT_LOGONS_PER_SECOND: Final = 1.0
"""Logons a second an account's sessions make together unless told: Kalshi rate-limits Logons
but publishes no rate, so the default is one a second (six sessions are back within about six
seconds, well inside the 60 s Kalshi may keep a dropped session); raise it if Kalshi gives you
a figure."""

DEFAULT_GATHER: Final = 0.25
"""Seconds a session waits after asking to connect before it may log on, so that the sessions
of an account dropped together are all asking, and go in `LOGON_ORDER`, whatever order their
drops were read in."""

LOGON_ORDER: Final = ("order entry", "RFQ", "drop copy, post trade, listener", "market data")
"""The order in which an account's sessions log on when they connect together (`logon_rank`)."""

TIER_NAMES: Final = ("Basic", "Advanced", "Expert", "Premier", "Paragon", "Prime", "Prestige")
"""Kalshi's access tiers (levels), lowest first; the same names on both lanes (prediction's
``event_contract`` and margin's ``margined``)."""

PERPS_READ_BURST: Final = 1.0
"""Seconds of budget a perps (margin) Read bucket holds; a perps Write bucket holds 3 s above
Basic and 1 s at Basic (Kalshi's rate-limits page)."""


class AccountKeyError(LocalProtocolError):
    """An API key used with an `Account` it is not a key of (or with another product's).

    Attributes:
        key_id: the key.
        account: the account's name.
    """

    def __init__(self, text: str, *, key_id: str, account: str) -> None:
        super().__init__(text)
        self.key_id = key_id
        self.account = account


def _tier_name(name: object, *, budgets_given: bool = False) -> str:
    """The tier's name as `TIER_NAMES` spells it; a name Kalshi may add later is kept as
    given when the budgets come with it."""
    if not isinstance(name, str) or not name.strip():
        raise LocalProtocolError(f"AccountLimits.tier must be a tier name, got {name!r}")
    for known in TIER_NAMES:
        if known.lower() == name.strip().lower():
            return known
    if budgets_given:
        return name.strip()
    raise LocalProtocolError(
        f"AccountLimits.tier: unknown tier {name!r} (Kalshi's tiers: {', '.join(TIER_NAMES)}; "
        "another name needs read= and write=)"
    )


def perps_tier(name: str, read: float, write: float) -> Tier:
    """A margin (perps) `Tier` from its budgets, with Kalshi's burst rules for perps buckets
    (Read: 1 s of budget; Write: 3 s above Basic, 1 s at Basic). Kalshi publishes no perps
    budgets per tier: take ``read`` and ``write`` from ``GET /account/limits/perps``.

    Args:
        name: the tier's name (`TIER_NAMES`, any case).
        read: Read budget, tokens per second.
        write: Write budget, tokens per second.
    """
    tier = _tier_name(name, budgets_given=True)
    return Tier(
        tier,
        read,
        write,
        read_burst=PERPS_READ_BURST,
        write_burst=1.0 if tier == "Basic" else 3.0,
    )


QUOTES_KEPT: Final = 4096
"""QuoteIDs an `Account` remembers of the Quotes its RFQ sessions sent (the oldest go first),
as many as a session's order gate remembers quotes for."""

MAX_BUDGET: Final = 1e9
"""The largest budget or capacity taken (tokens, or Logons, a second): far above any tier."""


def _positive(what: str, value: object, error: type[FixError] = LocalProtocolError) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{what} must be a number > 0, got {value!r:.40}")
    if not 0 < value <= MAX_BUDGET:
        raise error(f"{what} must be > 0 and at most {MAX_BUDGET:g}, got {value!r:.40}")
    return float(value)


class _RemoteLimit(RemoteProtocolError):
    """Kalshi's limits answer is not usable (asking again would give the same)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, reconnect=False)


def _optional(what: str, value: object) -> float | None:
    return None if value is None else _positive(what, value)


def _costs(value: Mapping[str, float] | None) -> dict[str, float]:
    return dict(value or {})


def _check_limits(limits: AccountLimits) -> None:
    if limits.product not in ("prediction", "margin"):
        raise LocalProtocolError(
            f"AccountLimits.product must be 'prediction' or 'margin', got {limits.product!r}"
        )
    _tier_name(limits.tier, budgets_given=limits.read is not None and limits.write is not None)
    for name in ("read", "write", "read_capacity", "write_capacity"):
        _optional(f"AccountLimits.{name}", getattr(limits, name))
    _positive("AccountLimits.logons_per_second", limits.logons_per_second)
    if limits.product == "margin" and (limits.read is None or limits.write is None):
        raise LocalProtocolError(
            "AccountLimits for margin (perps) needs read= and write= (tokens per second): "
            "Kalshi publishes no perps budgets per tier; take them from GET "
            "/account/limits/perps (AccountLimits.from_rest)"
        )
    for key, cost in limits.costs.items():
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not cost >= 0:
            raise LocalProtocolError(f"AccountLimits.costs[{key!r}] must be >= 0, got {cost!r}")


@attrs.frozen(kw_only=True)
class AccountLimits:
    """What Kalshi allows one account on one exchange (prediction or margin), as plain data.

    Attributes:
        product: ``"prediction"`` or ``"margin"`` (perps buckets are separate from
            prediction's).
        tier: the access tier's name (`TIER_NAMES`, any case: REST says ``"premier"``).
        read: Read budget in tokens per second; None: the tier's published budget
            (prediction only: `PREDICTION_TIERS <kalshi_fix_sansio.session.ratelimit.PREDICTION_TIERS>`).
        write: Write budget in tokens per second; None as ``read``.
        read_capacity: tokens a full Read bucket holds; None: Kalshi's burst rule for the tier.
        write_capacity: tokens a full Write bucket holds; None: as ``read_capacity``.
        costs: token costs that differ from the default 10 (``GET /account/endpoint_costs``),
            by MsgType (`RateLimiter`'s ``costs``).
        logons_per_second: most Logons a second of the account's sessions together
            (`DEFAULT_LOGONS_PER_SECOND`: Kalshi publishes no figure).

    Raises:
        LocalProtocolError: a field out of range, an unknown tier, or margin limits without
            ``read`` and ``write``.
    """

    product: str = "prediction"
    tier: str = "Basic"
    read: float | None = None
    write: float | None = None
    read_capacity: float | None = None
    write_capacity: float | None = None
    costs: Mapping[str, float] = attrs.field(factory=dict, converter=_costs)
    logons_per_second: float = DEFAULT_LOGONS_PER_SECOND

    def __attrs_post_init__(self) -> None:
        _check_limits(self)

    def budget(self) -> Tier:
        """The tier's budgets as a `Tier` (what the account's `RateLimiter` runs on)."""
        given = self.read is not None and self.write is not None
        name = _tier_name(self.tier, budgets_given=given)
        published = PREDICTION_TIERS.get(name)
        if self.product == "margin" or published is None:
            assert self.read is not None and self.write is not None
            base = perps_tier(name, self.read, self.write)  # a new name: the same burst rules
        else:
            base = Tier(
                name,
                published.read if self.read is None else self.read,
                published.write if self.write is None else self.write,
                read_burst=published.read_burst,
                write_burst=published.write_burst,
            )
        read_burst = base.read_burst
        if self.read_capacity is not None:
            read_burst = self.read_capacity / base.read
        write_burst = base.write_burst
        if self.write_capacity is not None:
            write_burst = self.write_capacity / base.write
        return Tier(name, base.read, base.write, read_burst=read_burst, write_burst=write_burst)

    @classmethod
    def from_rest(
        cls,
        payload: Mapping[str, Any],
        *,
        product: str = "prediction",
        costs: Mapping[str, float] | None = None,
        logons_per_second: float = DEFAULT_LOGONS_PER_SECOND,
    ) -> AccountLimits:
        """The limits from Kalshi's REST answer: ``GET /account/limits`` (prediction) or
        ``GET /account/limits/perps`` (margin), the decoded JSON object, e.g.
        ``{"usage_tier": "premier", "read": {"refill_rate": 1200, "bucket_capacity": 1200},
        "write": {"refill_rate": 1200, "bucket_capacity": 3600}, "grants": [...]}``. Only
        ``usage_tier`` (the page's lane's effective tier), ``read`` and ``write`` are read:
        ``grants`` and any field Kalshi adds are ignored.

        Args:
            payload: the JSON object.
            product: which exchange's limits these are.
            costs: non-default costs by MsgType, if known.
            logons_per_second: as the attribute (REST does not say it).

        Raises:
            RemoteProtocolError: Kalshi's answer lacks a field or has one out of range (named
                with where it is; ``reconnect`` False: asking again gives the same).
            LocalProtocolError: ``product``, ``costs`` or ``logons_per_second`` out of range.
        """
        where = "Kalshi's account limits"
        if not isinstance(payload, Mapping):
            raise _RemoteLimit(f"{where}: expected a JSON object, got {type(payload).__name__}")
        values: dict[str, float] = {}
        for bucket in ("read", "write"):
            part = payload.get(bucket)
            if not isinstance(part, Mapping):
                raise _RemoteLimit(f"{where}: {bucket!r} missing or not an object")
            rate = part.get("refill_rate")
            values[bucket] = _positive(f"{where}: {bucket}.refill_rate", rate, _RemoteLimit)
            capacity = part.get("bucket_capacity")
            if capacity is not None:
                values[f"{bucket}_capacity"] = _positive(
                    f"{where}: {bucket}.bucket_capacity", capacity, _RemoteLimit
                )
        tier = payload.get("usage_tier", "Basic")
        if not isinstance(tier, str) or not tier.strip() or len(tier) > 64:
            raise _RemoteLimit(f"{where}: usage_tier must be a tier name, got {tier!r:.80}")
        return cls(
            product=product,
            tier=tier,
            costs=dict(costs or {}),
            logons_per_second=logons_per_second,
            **values,
        )


def limits_request(
    credentials: Credentials,
    product: str,
    now: float,
    *,
    environment: str | None = None,
    base_url: str | None = None,
) -> RestRequest:
    """The signed ``GET /account/limits`` (prediction) or ``/account/limits/perps`` (margin) of
    the account of ``credentials``' key, for an I/O part to send (`limits_from_response` reads
    the answer; ``kalshi_fix_sansio.adapters.rest.read_account_limits`` does both).

    Args:
        credentials: a key of the account (the FIX Logon's).
        product: ``"prediction"`` or ``"margin"``.
        now: UTC epoch seconds.
        environment: ``"demo"`` or ``"production"`` (Kalshi's host) ...
        base_url: ... or ``https://host[:port]`` (e.g. the mock gateway's): one of the two.

    Raises:
        LocalProtocolError: an unknown product or environment, a base URL that is not
            ``https://host``, or not exactly one of ``environment`` and ``base_url``.
    """
    if (environment is None) == (base_url is None):
        raise LocalProtocolError("give one of environment ('demo' / 'production') or base_url")
    base = check_base_url(base_url) if base_url is not None else rest_base_url(str(environment))
    path = rest_path(product, "limits")
    headers = rest_headers(credentials.key_id, credentials.signer, "GET", path, now)
    return RestRequest("limits", "GET", base, path, (), headers)


def limits_from_response(
    response: RestResponse | str, product: str = "prediction", **options: Any
) -> AccountLimits:
    """`AccountLimits` from Kalshi's answer to `limits_request`.

    Args:
        response: the HTTP answer, or why none came (an I/O part's error text).
        product: as the request's.
        **options: more `AccountLimits.from_rest` arguments (``costs``, ``logons_per_second``).

    Raises:
        RemoteProtocolError: not a 200, not JSON, or not Kalshi's shape (named with the field).
        TransportError: no answer came.
    """
    where = f"GET {rest_path(product, 'limits')}"
    if isinstance(response, str):
        raise TransportError(f"{where}: no answer: {response}")
    if response.status != 200:
        raise _RemoteLimit(f"{where}: HTTP {response.status}: {response.body[:200]!r}")
    try:
        payload = json.loads(response.body)
    except ValueError as exc:
        raise _RemoteLimit(f"{where}: not JSON ({exc})") from None
    return AccountLimits.from_rest(payload, product=product, **options)


def logon_rank(session_type: str, listener: bool = False) -> int:
    """A session's place in `LOGON_ORDER` (0 first): order entry (KalshiNR, KalshiRT), RFQ,
    then drop copy (KalshiDC), post trade (KalshiPT) and listener sessions, market data
    (KalshiMD) last."""
    if session_type in ("KalshiNR", "KalshiRT"):
        return 2 if listener else 0
    if session_type == "KalshiRFQ":
        return 1
    if session_type == "KalshiMD":
        return 3
    return 2


ShardOf = Callable[[str], "int | str | None"]


class Account:
    """One Kalshi account of one exchange, shared by the clients of its keys (see the module).

    Args:
        name: how errors and reports name it (e.g. your account's label).
        keys: the API key ids (SenderCompIDs) of the account: a client of another key given
            this account is refused.
        limits: the account's `AccountLimits` (default: prediction, Basic tier).
        gather: seconds a session waits after asking to connect before it may log on
            (`DEFAULT_GATHER`), so that sessions dropped together go in `LOGON_ORDER`.
        logon_margin: seconds added to the ``1 / logons_per_second`` between two Logons of
            the account (`DEFAULT_LOGON_MARGIN`): the jitter between our write and the
            exchange's count of it (network, TLS, its processing). Raise it on a path whose
            latency varies more; 0 spaces them by the rate alone.
        shard_of: margin: Symbol -> exchange shard (`RateLimiter`'s ``shard_of``).
        shard_write: margin: Write budget per shard (`RateLimiter`'s ``shard_write``).

    Raises:
        LocalProtocolError: no keys, a key that is not a non-empty string, or ``gather`` or
            ``logon_margin`` out of range.
    """

    def __init__(
        self,
        name: str,
        keys: Iterable[str],
        limits: AccountLimits | None = None,
        *,
        gather: float = DEFAULT_GATHER,
        logon_margin: float = DEFAULT_LOGON_MARGIN,
        shard_of: Mapping[str, int | str] | ShardOf | None = None,
        shard_write: float | Mapping[int | str, float] | None = None,
    ) -> None:
        if isinstance(keys, str):
            keys = [keys]
        key_set = frozenset(keys)
        if not key_set or not all(isinstance(k, str) and k for k in key_set):
            raise LocalProtocolError(
                f"Account {name!r}: keys must be one or more API key ids (strings), got "
                f"{sorted(map(repr, key_set))}"
            )
        if limits is None:
            limits = AccountLimits()
        if not isinstance(limits, AccountLimits):
            raise LocalProtocolError(
                f"Account {name!r}: limits must be an AccountLimits, got {type(limits).__name__}"
            )
        for what, seconds in (("gather", gather), ("logon_margin", logon_margin)):
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise LocalProtocolError(
                    f"Account {name!r}: {what} must be seconds, got {seconds!r}"
                )
            if not 0 <= seconds < math.inf:
                raise LocalProtocolError(f"Account {name!r}: {what} must be >= 0, got {seconds!r}")
        self.name = name
        self.keys = key_set
        """The account's API key ids."""
        self.limits = limits
        """The account's `AccountLimits`."""
        self.product = limits.product
        """``"prediction"`` or ``"margin"``."""
        self.limiter = RateLimiter(
            limits.product,
            limits.budget(),
            costs=limits.costs,
            shard_of=shard_of,
            shard_write=shard_write,
        )
        """The `RateLimiter` every session of the account bills (its application-message
        budget): a `RateLimited` on one session drains it for all."""
        self.logons = LogonSchedule(limits.logons_per_second, float(gather), float(logon_margin))
        """When each session may log on (`logons.logons`: when each Logon was sent;
        `logons.interval`: the least seconds between two, margin included)."""
        self._quotes: OrderedDict[str, None] = OrderedDict()  # QuoteIDs sent, oldest first

    def quote_sent(self, quote_id: str) -> None:
        """A Quote (35=S) of the account went out on one of its RFQ sessions: a fill whose
        ClOrdID names ``quote_id`` is the account's own (`made_quote`). The last
        `QUOTES_KEPT` are remembered."""
        quotes = self._quotes
        quotes[quote_id] = None
        if len(quotes) > QUOTES_KEPT:
            quotes.popitem(last=False)

    def made_quote(self, cl_ord_id: str) -> bool:
        """Whether ``cl_ord_id`` is the QuoteID of a Quote one of the account's RFQ sessions
        sent: Kalshi reports a maker's fill with the QuoteID as its ClOrdID, on the account's
        order-entry sessions, which never sent it (a REST round takes such an order into its
        scope)."""
        return cl_ord_id in self._quotes

    def __repr__(self) -> str:
        return (
            f"Account({self.name!r}, {self.product}, tier={self.limiter.tier.name}, "
            f"keys={len(self.keys)}, logons_per_second={self.limits.logons_per_second:g}, "
            f"logon_margin={self.logons.margin:g})"
        )

    def update(self, limits: AccountLimits, now: float) -> None:
        """Take new limits from ``now`` (Kalshi moved the account to another tier, or the
        REST answer was read again): the limiter's buckets refill at the new budgets, keeping
        the tokens they hold up to the new capacities; the Logon rate applies to the next
        slot.

        Args:
            limits: the new `AccountLimits` (same product).
            now: the time they apply from (the sessions' clock).

        Raises:
            LocalProtocolError: ``limits`` is not an `AccountLimits` of the account's product.
        """
        if not isinstance(limits, AccountLimits) or limits.product != self.product:
            raise LocalProtocolError(
                f"Account {self.name!r}: update takes AccountLimits of product "
                f"{self.product!r}, got {limits!r}"
            )
        self.limiter.retier(limits.budget(), now, costs=limits.costs)
        self.logons.set_rate(limits.logons_per_second)
        self.limits = limits

    def check_key(self, key_id: str, product: str) -> None:
        """Refuse a client of ``key_id`` and ``product`` that is not of this account.

        Raises:
            AccountKeyError: the key is not one of the account's, or the product differs.
        """
        if product != self.product:
            raise AccountKeyError(
                f"account {self.name!r} is a {self.product} account (its limits' product), but "
                f"this is a {product} client: Kalshi meters the two exchanges apart, so give "
                f"the {product} client an Account with AccountLimits(product={product!r})",
                key_id=key_id,
                account=self.name,
            )
        if key_id not in self.keys:
            raise AccountKeyError(
                f"API key {key_id!r} is not a key of account {self.name!r} (its keys: "
                f"{', '.join(sorted(self.keys))}): its sessions would bill and pace another "
                "account's budgets; give the client its own account's Account, or add the key "
                "to this one",
                key_id=key_id,
                account=self.name,
            )


class LimitsQuery(TypedDict, total=False):
    """How the account's limits are read (``read_account_limits`` / ``aread_account_limits`` of
    `kalshi_fix_sansio.adapters.rest`, besides the credentials): every key may be left out.

    Keys:
        product: ``"prediction"`` (the default) or ``"margin"``.
        environment: ``"demo"`` or ``"production"`` (or ``base_url``: one of the two).
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        verify: whom to trust, as the REST companion's (default True: the system's CAs).
        timeout: seconds the request may take (default 10).
        clock: UTC epoch seconds (default the wall clock).
        costs: as `AccountLimits.from_rest`.
        logons_per_second: as `AccountLimits.from_rest`.
    """

    product: str
    environment: str | None
    base_url: str | None
    verify: SSLContext | bool | str
    timeout: float
    clock: Callable[[], float]
    costs: Mapping[str, float] | None
    logons_per_second: float


@attrs.frozen
class LimitsRead:
    """One reading of the account's limits, described once for the blocking and the awaited
    reader (`limits_read`): the signed request, whom to trust, the seconds it may take, and how
    its answer is read (`answer`)."""

    request: RestRequest
    verify: object
    timeout: float
    product: str
    options: dict[str, Any]

    def answer(self, response: RestResponse | str) -> AccountLimits:
        """The limits from the answer (or why none came): `limits_from_response`."""
        return limits_from_response(response, self.product, **self.options)


def limits_read(
    credentials: Credentials, query: LimitsQuery, clock: Callable[[], float]
) -> LimitsRead:
    """The reading ``query`` describes (`LimitsQuery`), signed with ``credentials`` at the
    query's clock, else ``clock`` (the I/O part's wall clock).

    Raises:
        LocalProtocolError: as `limits_request`.
    """
    how: dict[str, Any] = dict(query)
    product = how.pop("product", "prediction")
    now = how.pop("clock", clock)()
    where = {"environment": how.pop("environment", None), "base_url": how.pop("base_url", None)}
    request = limits_request(credentials, product, now, **where)
    return LimitsRead(request, how.pop("verify", True), how.pop("timeout", 10.0), product, how)

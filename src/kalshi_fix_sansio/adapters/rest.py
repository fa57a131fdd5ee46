"""The REST companion's I/O: send a reconciliation's requests with httpx, and sleep (``rest`` extra).

``pip install httpx`` (or, in a checkout, ``pip install ".[rest]"``; the package is not on
PyPI yet). Every decision is the core's
(`kalshi_fix_sansio.rest.reconcile`, `kalshi_fix_sansio.rest.pages`): what to request, how to sign it, what
an answer means, when to ask again. This module only sends each request, hands the answer (or
that none came) back, and sleeps as long as the core says after a 429 or 5xx: both companions
loop over the one step `RestPort.next`.

`RestCompanion` (blocking) and `AsyncRestCompanion` (asyncio and trio, through anyio, as httpx
runs on both) run one round to its end. Their target is a `Reconciliation`, a `Driver` with
``rest=RestOptions(...)``, or a session of an adapter made with ``rest=`` (a blocking session's
driver is called holding the session's lock). A session made with ``rest=`` runs the companion
by itself when its driver starts a round (see docs/accounts.md).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from kalshi_fix_sansio.client import ConnectOptions
from kalshi_fix_sansio.client.account import AccountLimits, LimitsQuery, LimitsRead, limits_read
from kalshi_fix_sansio.client.pump import RestPort, refuse_rest_trust
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.pages import RestRequest, RestResponse
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.events import Event

from ._tls import rest_verify

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "MAX_BODY",
    "AsyncRestCompanion",
    "RestCompanion",
    "aread_account_limits",
    "read_account_limits",
]

MAX_BODY: Final = 32 * 1024 * 1024
"""The largest answer read (a larger one counts as no answer, and is asked again)."""

C = TypeVar("C", bound="_Companion")


def _httpx() -> ModuleType:
    try:
        import httpx
    except ImportError:  # pragma: no cover - the dev extra installs it
        raise LocalProtocolError(
            "the REST companion needs httpx: pip install httpx (the rest extra: in a "
            "checkout, pip install '.[rest]')"
        ) from None
    return httpx


class _Companion:
    """What both companions keep: whom they trust, the seconds per request, the clock."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool | str = True,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        refuse_rest_trust(verify, timeout, is_context=isinstance(verify, ssl.SSLContext))
        self.verify, self.timeout, self.clock = verify, timeout, clock

    @classmethod
    def for_session(cls: type[C], options: ConnectOptions, clock: Callable[[], float]) -> C:
        """A session's companion, which its pump starts (``spawn``, with the client's
        `serve_rest <kalshi_fix_sansio.client.pump.serve_rest>` or ``aserve_rest``): it
        trusts what the session trusts (`_tls.rest_verify`) and reads the session's clock."""
        return cls(verify=rest_verify(options), clock=clock)


class RestCompanion(_Companion):
    """Sends a reconciliation's REST requests with a blocking ``httpx.Client``.

    Args:
        verify: whom to trust: True (the system's CAs), an `ssl.SSLContext` (e.g. the mock
            gateway's `client_ssl_context`), or a CA file path. Never False to Kalshi.
        timeout: seconds per request.
        clock: UTC epoch seconds (the core's time).
        sleep: how to wait (tests may pass their own).
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool | str = True,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(verify=verify, timeout=timeout, clock=clock)
        self.sleep = sleep

    def run(self, target: object) -> list[Event]:
        """Run the round under way (if any) to its end; its events (a driver's are queued as
        well).

        Raises:
            LocalProtocolError: the target has no reconciliation, or httpx is not installed.
        """
        httpx = _httpx()
        port = RestPort(target)
        events: list[Event] = []
        with httpx.Client(verify=self.verify, timeout=self.timeout) as client:
            while (todo := port.next(self.clock())) is not None:
                if isinstance(todo, float):
                    self.sleep(todo)
                else:
                    events += port.answer(_send(httpx, client, todo), self.clock())
        return events


def _send(httpx: ModuleType, client: Any, request: RestRequest) -> RestResponse | str:
    try:
        with client.stream(
            request.method,
            request.base_url + request.path,
            params=list(request.params),
            headers=dict(request.headers),
        ) as answer:
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    return f"the answer is larger than {MAX_BODY} bytes"
            return RestResponse(answer.status_code, bytes(body), dict(answer.headers))
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"


class AsyncRestCompanion(_Companion):
    """`RestCompanion` for asyncio and trio (``httpx.AsyncClient``; sleeps with anyio).

    Args:
        verify: whom to trust, as `RestCompanion`.
        timeout: seconds per request.
        clock: UTC epoch seconds (the core's time).
    """

    async def run(self, target: object) -> list[Event]:
        """As `RestCompanion.run`, awaited."""
        httpx = _httpx()
        import anyio

        port = RestPort(target)
        events: list[Event] = []
        async with httpx.AsyncClient(verify=self.verify, timeout=self.timeout) as client:
            while (todo := port.next(self.clock())) is not None:
                if isinstance(todo, float):
                    await anyio.sleep(todo)
                else:
                    events += port.answer(await _send_async(httpx, client, todo), self.clock())
        return events


async def _send_async(httpx: ModuleType, client: Any, request: RestRequest) -> RestResponse | str:
    try:
        async with client.stream(
            request.method,
            request.base_url + request.path,
            params=list(request.params),
            headers=dict(request.headers),
        ) as answer:
            body = bytearray()
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    return f"the answer is larger than {MAX_BODY} bytes"
            return RestResponse(answer.status_code, bytes(body), dict(answer.headers))
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"


def read_account_limits(credentials: Credentials, **query: Unpack[LimitsQuery]) -> AccountLimits:
    """The account's limits from Kalshi's REST API (``GET /account/limits``, or
    ``/account/limits/perps`` for margin), signed with ``credentials`` (a key of the account),
    for `Account`'s ``limits``.

    Args:
        credentials: the API key to sign with.
        **query: how to read them (`LimitsQuery
            <kalshi_fix_sansio.client.account.LimitsQuery>`): ``product`` (``"prediction"``
            or ``"margin"``), ``environment`` (``"demo"`` or ``"production"``) or
            ``base_url`` (``https://host[:port]`` instead, e.g. the mock gateway's REST
            server), ``verify`` (whom to trust, as `RestCompanion`'s), ``timeout`` (seconds
            the request may take), ``clock`` (UTC epoch seconds), and more
            `AccountLimits.from_rest` arguments (``costs``, ``logons_per_second``).

    Raises:
        RemoteProtocolError: Kalshi's answer is not a 200 or not its shape (the field named).
        TransportError: no answer (the error named).
        LocalProtocolError: bad arguments, or httpx is not installed.
    """
    read, httpx = _limits(credentials, query)
    with httpx.Client(verify=read.verify, timeout=read.timeout) as client:
        return read.answer(_send(httpx, client, read.request))


async def aread_account_limits(
    credentials: Credentials, **query: Unpack[LimitsQuery]
) -> AccountLimits:
    """`read_account_limits`, awaited (asyncio or trio)."""
    read, httpx = _limits(credentials, query)
    async with httpx.AsyncClient(verify=read.verify, timeout=read.timeout) as client:
        return read.answer(await _send_async(httpx, client, read.request))


def _limits(credentials: Credentials, query: LimitsQuery) -> tuple[LimitsRead, ModuleType]:
    """The reading ``query`` describes (the client's `limits_read`), its trust and timeout
    checked, and httpx."""
    read = limits_read(credentials, query, time.time)
    is_context = isinstance(read.verify, ssl.SSLContext)
    refuse_rest_trust(read.verify, read.timeout, is_context=is_context)
    return read, _httpx()

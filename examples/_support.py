"""What the examples share: where to connect, with which API key, or a mock gateway instead.

Every example takes the same connection options, so it runs unchanged against Kalshi's demo
environment, production, or the mock gateway embedded in this library:

* ``--product prediction|margin`` and ``--env demo|production``: Kalshi's documented host and
  port for each session type (`kalshi_fix_sansio.adapters.kalshi_endpoint`);
* ``--endpoint TYPE=HOST:PORT`` (repeatable): another address for one session type, e.g.
  ``--endpoint NR=127.0.0.1:18228`` (a local gateway) or a PrivateLink address (with
  ``--allow-unlisted-host``). Once one session type points away from Kalshi's hosts, the
  client refuses the session types not given (it never sends one to the real exchange
  unasked): give an ``--endpoint`` for each session type the example uses;
* ``--key-id`` and ``--key-file``: the API key id and its PEM private key, by default from
  ``KALSHI_KEY_ID`` / ``KALSHI_PRIVATE_KEY_PATH`` (margin: ``KALSHI_PERPS_*``);
* ``--cafile`` (an extra CA bundle) or ``--pinned-cert`` (trust exactly that certificate);
* ``--md-key-id`` and ``--md-key-file`` (examples that read market data while trading):
  a second API key for KalshiMD, since Kalshi allows exactly one connection per API key
  (default: ``KALSHI_MD_KEY_ID`` / ``KALSHI_MD_PRIVATE_KEY_PATH``, margin ``KALSHI_PERPS_MD_*``);
* ``--mock``: start the mock gateway in this process (TLS with a throwaway certificate, the
  product's well-known mock API key, a seeded market) and fill in every option above to point
  at it. The example then runs the very code it runs against Kalshi.
* ``--replay RECORDING`` (paper trading): the same mock gateway, replaying a market-data
  recording instead of seeding a market (``--speed N`` or ``--as-fast-as-possible``; the
  replay starts when the example subscribes to market data); when the example ends, the
  paper-trading report is printed and written next to the recording (``--report-dir``).

Every example that places orders leaves nothing open on any exit path (an error, Ctrl-C
included): its order-entry session logs on with CancelOrdersOnDisconnect(8013)=Y
(`ORDER_ENTRY_FLAGS`: Kalshi cancels the session's orders if the process dies), and a
``try``/``finally`` runs the kill switch (`leave_nothing_open`) when the tracker still shows an
open order.

Ctrl-C (SIGINT) ends every example the same way: its ``finally`` blocks run (the kill switch
above), its sessions log out as they leave their ``with`` / ``async with`` blocks, then `run`
prints one line on stderr and the exit status is 130 (`INTERRUPTED`). ``asyncio.run`` cancels
the asyncio example's main task on Ctrl-C (on Python 3.10, every task once Ctrl-C has stopped
the loop); the trio example runs its main coroutine with `trio_run`, which cancels it too
(instead of raising `KeyboardInterrupt` wherever the loop happens to be).

This module is not an example itself; the scripts next to it import it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import ssl
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio import Backoff, FixError, KillReport
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.client import Endpoint, check_endpoint, kalshi_endpoint
from kalshi_fix_sansio.codec.spec import SESSIONS
from kalshi_fix_sansio.session.auth import Ed25519Signer, PublicKey, Signer, load_signer_file
from kalshi_fix_sansio.simulator.data.recording import RecordingError
from kalshi_fix_sansio.simulator.gateway import (
    MockGateway,
    Replay,
    mock_api_key,
    write_mock_api_key,
)
from kalshi_fix_sansio.simulator.testing.recordings import sample_path

PRODUCTS = ("prediction", "margin")

ORDER_ENTRY_FLAGS: dict[str, Any] = {"cancel_orders_on_disconnect": True}
"""Logon flags of the examples' order-entry sessions: CancelOrdersOnDisconnect(8013)=Y, the
exchange-side last line when the process cannot cancel any more."""
DEFAULT_SYMBOL = {"prediction": "HIGHNY-23DEC31", "margin": "BTC-PERP"}
"""The market the examples use unless ``--symbol`` names another."""

MOCK_BOOK = {
    "prediction": ([(Decimal("0.40"), Decimal(25))], [(Decimal("0.45"), Decimal(30))]),
    "margin": ([(Decimal("19.4"), Decimal(25))], [(Decimal("19.6"), Decimal(30))]),
}
"""The house liquidity ``--mock`` seeds: (bids, asks) as (price in dollars, contracts)."""

_ENV_PREFIX = {"prediction": "KALSHI_", "margin": "KALSHI_PERPS_"}

INTERRUPTED = 130
"""Exit status after Ctrl-C (SIGINT): 128 + 2, what shells report for a program SIGINT ended."""


class UsageError(Exception):
    """A connection option is missing or malformed (printed as one line, exit status 2)."""


@dataclass
class Target:
    """Where one example connects and as whom (built by `open_target` from the options).

    Attributes:
        product: ``"prediction"`` or ``"margin"``.
        environment: ``"demo"`` or ``"production"``.
        key_id: the API key id (SenderCompID).
        key_file: the PEM private key of ``key_id``.
        endpoints: session type -> address, for the session types given by ``--endpoint``
            (the others use Kalshi's documented endpoint of ``environment`` while every
            entry stays on Kalshi's hosts; otherwise the client refuses them).
        cafile: an extra CA bundle, or None.
        pinned_cert: the only server certificate to trust, or None.
        allow_unlisted_hosts: accept hosts Kalshi does not document.
        symbol: the market the example trades or records.
        md_key: (key id, key file) of the market-data key, when the example takes one.
        gateway: the embedded mock gateway (``--mock``), else None.
    """

    product: str
    environment: str
    key_id: str
    key_file: str
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    cafile: str | None = None
    pinned_cert: str | None = None
    allow_unlisted_hosts: bool = False
    symbol: str = ""
    md_key: tuple[str, str] | None = None
    gateway: MockGateway | None = None

    def endpoint(self, session_type: str) -> Endpoint:
        """The address of ``session_type`` (checked as the adapters check it)."""
        endpoint = self.endpoints.get(session_type) or kalshi_endpoint(
            self.product, self.environment, session_type
        )
        check_endpoint(endpoint, allow_unlisted_hosts=self.allow_unlisted_hosts)
        return endpoint

    def ssl_context(self) -> ssl.SSLContext:
        """The client TLS context: verification on, ``cafile`` added or ``pinned_cert`` only."""
        context: ssl.SSLContext = make_ssl_context(cafile=self.cafile, pinned_cert=self.pinned_cert)
        return context

    def signer(self) -> Signer:
        """The signer of ``key_file`` (for code that builds a `SessionConfig` itself)."""
        return load_signer_file(self.key_file)

    def client(self, module: Any, *, market_data_key: bool = False, **options: Any) -> Any:
        """A client of any adapter (``module`` is e.g. ``kalshi_fix_sansio.adapters.asyncio``).

        Args:
            module: the adapter module; its ``FixClient`` or ``MarginFixClient`` is used.
            market_data_key: use the market-data key (``md_key``) instead of the main one.
            **options: more client options (``heartbeat_interval``, ``message_log_path``...).

        Returns:
            The client, pointed at this target.
        """
        cls = module.FixClient if self.product == "prediction" else module.MarginFixClient
        key_id, key_file = self.key_id, self.key_file
        if market_data_key:
            if self.md_key is None:
                raise UsageError("this example was not given a market-data key")
            key_id, key_file = self.md_key
        options.setdefault("backoff", Backoff(attempts=2, reconnect_attempts=2))
        return cls.from_key(
            key_id,
            path=key_file,
            environment=self.environment,
            endpoints=self.endpoints,
            cafile=self.cafile,
            pinned_cert=self.pinned_cert,
            allow_unlisted_hosts=self.allow_unlisted_hosts,
            **options,
        )


def add_connection_args(parser: argparse.ArgumentParser, *, market_data_key: bool = False) -> None:
    """Add the connection options every example takes (see the module docstring).

    Args:
        parser: the example's parser.
        market_data_key: also take ``--md-key-id`` / ``--md-key-file``.
    """
    group = parser.add_argument_group("connection")
    group.add_argument("--product", choices=PRODUCTS, default="prediction")
    group.add_argument(
        "--env",
        choices=("demo", "production"),
        default="demo",
        help="Kalshi environment whose documented endpoints are used (default demo)",
    )
    group.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="TYPE=HOST:PORT",
        help="address of one session type, e.g. NR=127.0.0.1:18228 (repeatable)",
    )
    group.add_argument(
        "--key-id", help="API key id (default: $KALSHI_KEY_ID, margin $KALSHI_PERPS_KEY_ID)"
    )
    group.add_argument(
        "--key-file",
        help="PEM private key of the API key (default: "
        "$KALSHI_PRIVATE_KEY_PATH, margin $KALSHI_PERPS_PRIVATE_KEY_PATH)",
    )
    if market_data_key:
        group.add_argument(
            "--md-key-id",
            help="API key id for market data (default: "
            "$KALSHI_MD_KEY_ID, margin $KALSHI_PERPS_MD_KEY_ID)",
        )
        group.add_argument(
            "--md-key-file",
            help="its PEM private key (default: "
            "$KALSHI_MD_PRIVATE_KEY_PATH, margin $KALSHI_PERPS_MD_PRIVATE_KEY_PATH)",
        )
    group.add_argument("--cafile", help="extra CA bundle (PEM) to trust")
    group.add_argument("--pinned-cert", help="trust exactly this server certificate (PEM)")
    group.add_argument(
        "--allow-unlisted-host",
        action="store_true",
        help="accept a host that is not one of Kalshi's documented FIX hosts",
    )
    group.add_argument("--symbol", help="market ticker (default HIGHNY-23DEC31, margin BTC-PERP)")
    group.add_argument(
        "--mock",
        action="store_true",
        help="start the mock Kalshi gateway in this process and connect to it",
    )
    group.add_argument(
        "--replay",
        metavar="RECORDING",
        help="paper trading: start the mock gateway replaying this market-data recording "
        "(implies --mock; --symbol defaults to its first market); the report is printed and "
        "written next to the recording at the end",
    )
    pace = group.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed", type=float, default=1.0, help="replay pace: recorded seconds per second"
    )
    pace.add_argument(
        "--as-fast-as-possible",
        action="store_true",
        help="replay each recorded message as soon as the market data client read the last",
    )
    group.add_argument(
        "--report-dir", help="where the replay's report goes (default: next to the recording)"
    )


def _endpoint(text: str, product: str) -> tuple[str, Endpoint]:
    """``--endpoint TYPE=HOST:PORT`` as (session type, endpoint)."""
    kind, eq, address = text.partition("=")
    host, colon, port = address.rpartition(":")
    name = "Kalshi" + kind.strip().upper().removeprefix("KALSHI")
    if not eq or not colon or not host or not port.isdigit():
        raise UsageError(f"--endpoint takes TYPE=HOST:PORT (e.g. NR=127.0.0.1:18228), got {text!r}")
    if (product, name) not in SESSIONS:
        known = ", ".join(
            s.name.removeprefix("Kalshi") for s in SESSIONS.values() if s.product == product
        )
        raise UsageError(f"--endpoint {text!r}: {product} has no {name} session ({known})")
    try:
        return name, Endpoint(host, int(port))
    except FixError as exc:
        raise UsageError(f"--endpoint {text!r}: {exc}") from None


def _from_options(args: argparse.Namespace) -> Target:
    key_id, key_file = _key(args, "")
    md_key = _key(args, "md_") if hasattr(args, "md_key_id") else None
    return Target(
        product=args.product,
        environment=args.env,
        key_id=key_id,
        key_file=key_file,
        endpoints=dict(_endpoint(text, args.product) for text in args.endpoint),
        cafile=args.cafile,
        pinned_cert=args.pinned_cert,
        allow_unlisted_hosts=args.allow_unlisted_host,
        symbol=args.symbol or DEFAULT_SYMBOL[args.product],
        md_key=md_key,
    )


def _key(args: argparse.Namespace, role: str) -> tuple[str, str]:
    """(key id, key file) from ``--<role>key-id`` / ``--<role>key-file`` or the environment."""
    prefix = _ENV_PREFIX[args.product] + role.upper()
    flag = "--" + role.replace("_", "-")
    key_id = getattr(args, f"{role}key_id") or os.environ.get(f"{prefix}KEY_ID")
    key_file = getattr(args, f"{role}key_file") or os.environ.get(f"{prefix}PRIVATE_KEY_PATH")
    if not key_id or not key_file:
        raise UsageError(
            f"missing {flag}key-id and {flag}key-file (or set {prefix}KEY_ID and "
            f"{prefix}PRIVATE_KEY_PATH); --mock runs against the embedded mock gateway instead"
        )
    return key_id, key_file


def _fresh_key(directory: str, key_id: str) -> tuple[str, PublicKey]:
    """Write a new Ed25519 private key (PKCS#8 PEM) for the mock gateway's second API key."""
    private_key = ed25519.Ed25519PrivateKey.generate()
    path = Path(directory) / f"{key_id}.pem"
    path.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path), Ed25519Signer(private_key).public_key()


@contextlib.contextmanager
def open_target(args: argparse.Namespace) -> Iterator[Target]:
    """The target the options name; with ``--mock``, a mock gateway started for the duration.

    Args:
        args: options parsed with `add_connection_args`.

    Yields:
        The target.

    Raises:
        UsageError: missing credentials, a malformed ``--endpoint``.
    """
    if not args.mock and not args.replay:
        yield _from_options(args)
        return
    key_id, _signer, public_key = mock_api_key(args.product)
    symbol = args.symbol or DEFAULT_SYMBOL[args.product]
    replay: Replay | None = None
    with tempfile.TemporaryDirectory(prefix="kalshi-example-") as tmp:
        key_file = write_mock_api_key(args.product, tmp)
        keys = {key_id: public_key}
        md_key = None
        if hasattr(args, "md_key_id"):
            md_file, keys["mock-md-key"] = _fresh_key(tmp, "mock-md-key")
            md_key = ("mock-md-key", md_file)
        gateway = MockGateway(args.product, keys=keys, tls=True)
        if args.replay:
            replay = _replay(gateway, args)
            symbol = args.symbol or replay.info.markets[0]
        with gateway:
            if replay is None:
                bids, asks = MOCK_BOOK[args.product]
                gateway.seed_market(symbol, bids=bids, asks=asks)
            print(
                f"mock Kalshi gateway ({args.product}) on 127.0.0.1 with TLS; API key {key_id}",
                flush=True,
            )
            yield Target(
                product=args.product,
                environment=args.env,
                key_id=key_id,
                key_file=str(key_file),
                endpoints=dict(gateway.endpoints),
                pinned_cert=str(gateway.certificate),
                symbol=symbol,
                md_key=md_key,
                gateway=gateway,
            )
        if replay is not None:  # the gateway has stopped: every order is in the report
            report = replay.ledger.report(replay.info.markets)
            print(report.table())
            paths = report.write(replay.path, args.report_dir)
            print("report: " + ", ".join(str(p) for p in paths))


def _replay(gateway: MockGateway, args: argparse.Namespace) -> Replay:
    """The replay ``--replay`` asks for (a bad recording is a usage error: one line); a name
    of a shipped sample (``paper-sample.log``) that is not a file here is the sample, and its
    report goes to the current directory."""
    sample = None if os.path.exists(args.replay) else sample_path(args.replay)
    if sample is not None:
        args.replay = str(sample)
        args.report_dir = args.report_dir or "."
    try:
        return gateway.replay(
            args.replay, speed=args.speed, as_fast_as_possible=args.as_fast_as_possible
        )
    except (RecordingError, ValueError) as exc:
        raise UsageError(f"--replay: {exc}") from None


def run(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    body: Callable[[Target, argparse.Namespace], int],
    *,
    market_data_key: bool = False,
) -> int:
    """Parse ``argv`` (the connection options added), open the target and run ``body``.

    Args:
        parser: the example's parser with its own options.
        argv: the arguments (None: ``sys.argv[1:]``).
        body: the example: takes the target and the options, returns the exit status.
        market_data_key: the example also takes a market-data key (see the module docstring).

    Returns:
        ``body``'s exit status; 2 for a usage error, 1 when Kalshi or the connection failed,
        130 after Ctrl-C (each with one line on stderr, no traceback).
    """
    add_connection_args(parser, market_data_key=market_data_key)
    args = parser.parse_args(argv)
    try:
        with open_target(args) as target:
            return body(target, args)
    except UsageError as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 2
    except (FixError, TimeoutError) as exc:
        print(f"{parser.prog}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the `with` blocks above have cleaned up and logged out
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return INTERRUPTED


def trio_run(main: Callable[..., Awaitable[int]], *args: Any) -> int:
    """``trio.run(main, *args)``, where Ctrl-C cancels ``main``: its ``finally`` blocks run and
    its sessions' ``async with`` log out; then `KeyboardInterrupt` is raised (`run` says it in
    one line), as ``asyncio.run`` does. Without it, trio raises `KeyboardInterrupt` in whatever
    code runs when the signal comes, a session's own task included (which then cannot log
    out). A second Ctrl-C is trio's `KeyboardInterrupt`, at once.
    """
    import trio  # the trio extra: only the trio example needs it

    body = trio.CancelScope()

    async def cancel_on_ctrl_c() -> None:
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                body.cancel()
                return

    async def interruptible() -> int:
        trio.lowlevel.spawn_system_task(cancel_on_ctrl_c)  # not a child: main's errors stay as is
        with body:
            return await main(*args)
        return INTERRUPTED  # only Ctrl-C cancels ``body``

    status = trio.run(interruptible)
    if body.cancel_called:
        raise KeyboardInterrupt
    return status


def report_kill(report: KillReport) -> None:
    """Print what the kill switch cancelled; what it could not, with why, on stderr."""
    for cl_ord_id, status in report.canceled:
        print(f"canceled {cl_ord_id}: {status.name}")
    if not report.done:
        print(report, file=sys.stderr)


def leave_nothing_open(session: Any, timeout: float = 10.0) -> None:
    """The exit path of a blocking example: when the session's tracker still shows an open
    order, take everything off the book with the kill switch and say what it did. Never
    raises (the error that brought us here, if any, is the one to show).

    Args:
        session: an open blocking order-entry session.
        timeout: seconds to wait for the cancels to be confirmed.
    """
    if not session.tracker.open_orders():
        return
    try:
        report_kill(session.kill(timeout=timeout))
    except FixError as exc:
        print(f"kill switch: {exc}", file=sys.stderr)

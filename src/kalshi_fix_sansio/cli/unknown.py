"""``kalshi-fix release-unknown``: lift the block of unknown order outcomes from the shell.

A session that cannot know how an order ended (its reports lost with a connection, nothing to
replay them) refuses what could grow a position in that order's market (`OutcomeUnknown`)
until the exchange's answer settles it. When that answer cannot come (the order ended without
its fills said, no REST reconciliation), an operator who checked the exchange by other means
(its website, the REST portfolio) lifts the block: ``session.release_unknown()`` in the
process, or this command from the shell, which writes the key's release request beside its
halt file (`kalshi_fix_sansio.trading.haltfile.HaltFile.request_release`); every running
session of the key on this machine applies it within a second, as it notices a halt.

Needs only the key id (``--key-id``, else ``KALSHI_KEY_ID`` / ``KALSHI_PERPS_KEY_ID``), no
private key: it connects to nothing. Exit status: 0 asked, 1 the request could not be written
(or the halt directory is writable by every user: the sessions ignore a request there), 2
usage error (no key id, neither ``--market`` nor ``--all``).
"""

from __future__ import annotations

import argparse
from typing import IO, Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PRODUCT_HELP, PRODUCTS
from .halt import add_halt_dir_option, halt_file_for, insecure_dir_of, key_id_of

__all__ = ["add_release_parser", "release_command"]


def release_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix release-unknown``: write the key's release request.

    Returns:
        0 asked, 1 the request could not be written, 2 usage.
    """
    key_id = key_id_of(args)
    if key_id is None:
        prefix = "KALSHI_" if args.product == "prediction" else "KALSHI_PERPS_"
        print(
            f"kalshi-fix release-unknown: no API key id: pass --key-id ID or set {prefix}KEY_ID",
            file=err,
        )
        return EXIT_USAGE
    market = None if args.all else args.market
    if market is not None and not market.strip():
        print("kalshi-fix release-unknown: --market needs a market ticker", file=err)
        return EXIT_USAGE
    import socket
    from datetime import datetime, timezone

    halt_file = halt_file_for(args, key_id)
    insecure = insecure_dir_of(halt_file)
    if insecure is not None:
        print(
            f"kalshi-fix release-unknown: {insecure}; the sessions ignore a request there: "
            "nothing was released",
            file=err,
        )
        return EXIT_FAILED
    try:
        what = halt_file.request_release(
            market, at=datetime.now(timezone.utc), host=socket.gethostname()
        )
    except OSError as exc:
        print(
            f"kalshi-fix release-unknown: cannot write {halt_file.release_path}: "
            f"{exc.strerror or exc}; nothing was released",
            file=err,
        )
        return EXIT_FAILED
    print(
        f"asked: {what} ({halt_file.release_path}); the key's running sessions on this machine "
        f"apply it within {halt_file.interval:g} s (TradingStateChanged, logged at WARNING)",
        file=out,
    )
    return EXIT_OK


def add_release_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix release-unknown`` to the subcommands of ``kalshi-fix``."""
    cmd = sub.add_parser(
        "release-unknown",
        description="Ask every running order-entry session of the API key on this machine to "
        "lift its block of unknown order outcomes (OutcomeUnknown) in one market or all, once "
        "you checked the exchange by other means (its website, the REST portfolio): they apply "
        "it within a second. Connects to nothing; needs only the key id (--key-id, else "
        "KALSHI_KEY_ID; KALSHI_PERPS_KEY_ID for margin).",
        epilog="exit status: 0 asked, 1 the request could not be written, 2 usage error",
    )
    cmd.add_argument(
        "--product",
        choices=PRODUCTS,
        default="prediction",
        help=PRODUCT_HELP + " (the key id read: KALSHI_KEY_ID or KALSHI_PERPS_KEY_ID)",
    )
    cmd.add_argument(
        "--key-id", metavar="ID", help="the API key id (default: from the environment)"
    )
    which = cmd.add_mutually_exclusive_group(required=True)
    which.add_argument("--market", metavar="TICKER", help="the market to release")
    which.add_argument("--all", action="store_true", help="release every market")
    add_halt_dir_option(cmd)

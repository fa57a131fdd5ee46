"""``kalshi-fix rearm`` and the halt from the shell the connecting commands share.

``kalshi-fix kill`` halts the API key on this machine: it writes the key's halt file
(`kalshi_fix_sansio.trading.haltfile.HaltFile`, in ``--halt-dir``, by default
``$XDG_STATE_HOME/kalshi-fix`` or ``~/.local/state/kalshi-fix``) before it cancels, so every
order-entry session of the key a client makes refuses new orders, replaces and quotes (at open,
and within a second for the sessions already running, which also cancel their own orders).
``kalshi-fix order`` refuses while it is there. ``kalshi-fix rearm`` removes it.

``rearm`` needs only the key id (``--key-id``, else ``KALSHI_KEY_ID`` / ``KALSHI_PERPS_KEY_ID``),
no private key: it connects to nothing. Exit status: 0 the key is not halted any more (or was
not), 1 the halt file could not be removed or the halt directory is writable by every user (the
sessions stay halted there, whatever is in it), 2 usage error (no key id).
"""

from __future__ import annotations

import argparse
import os
from typing import IO, TYPE_CHECKING, Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PRODUCT_HELP, PRODUCTS

if TYPE_CHECKING:
    from ..trading.haltfile import HaltFile

__all__ = [
    "add_halt_dir_option",
    "add_rearm_parser",
    "halt_dir_warning",
    "halt_file_for",
    "halted_text",
    "insecure_dir_of",
    "key_id_of",
    "rearm_command",
]

HALT_DIR_HELP = (
    "directory of the halt files (default $XDG_STATE_HOME/kalshi-fix, else "
    "~/.local/state/kalshi-fix): the same for kill, rearm, order and the trading processes"
)
"""The help of ``--halt-dir``."""


def add_halt_dir_option(cmd: argparse.ArgumentParser) -> None:
    """``--halt-dir DIR``: where the key's halt file is."""
    cmd.add_argument("--halt-dir", metavar="DIR", help=HALT_DIR_HELP)


def halt_file_for(args: argparse.Namespace, key_id: str) -> HaltFile:
    """The halt file of ``key_id`` in ``--halt-dir`` (or the default directory)."""
    from ..trading.haltfile import HaltFile

    return HaltFile(key_id, getattr(args, "halt_dir", None))


def halted_text(halt_file: HaltFile) -> str | None:
    """Why the key of ``halt_file`` is halted, in one line, or None when it is not (a file
    that cannot be read halts: fail-closed)."""
    from ..codec.errors import LocalProtocolError

    try:
        insecure = halt_file.insecure_dir()
        record = halt_file.read()
    except (LocalProtocolError, OSError) as exc:
        return (
            f"key {halt_file.key_id} is halted: its halt file {halt_file.path} cannot be read "
            f"({exc}); kalshi-fix rearm removes it"
        )
    if insecure is not None:
        return f"key {halt_file.key_id} is halted (fail-closed): {insecure}"
    if record is None:
        return None
    if record.mode == "reduce_only":
        return f"key {halt_file.key_id} is reduce-only: {record.reason}; kalshi-fix rearm lifts it"
    return f"key {halt_file.key_id} is halted by {record.reason}; kalshi-fix rearm lifts it"


def halt_dir_warning(halt_file: HaltFile) -> str | None:
    """A warning about who else may write to the halt directory (every user: sessions stay
    halted; its group: a shared directory, trusted), or None."""
    try:
        insecure = halt_file.insecure_dir()
    except OSError:
        return None  # the halt itself says what is wrong with the directory
    if insecure is not None:
        return f"warning: {insecure}; every session of the key stays halted while it is"
    group = halt_file.group_writable()
    if group is not None:
        return (
            f"warning: the halt directory {halt_file.directory} is writable by the group "
            f"{group}: its members can lift or plant this key's halt ('chmod 700 "
            f"{halt_file.directory}' unless the directory is shared with them on purpose)"
        )
    return None


def key_id_of(args: argparse.Namespace) -> str | None:
    """The API key id of ``--key-id``, else of the product's environment variable."""
    if args.key_id:
        return str(args.key_id)
    prefix = "KALSHI_" if args.product == "prediction" else "KALSHI_PERPS_"
    return os.environ.get(f"{prefix}KEY_ID") or None


def insecure_dir_of(halt_file: HaltFile) -> str | None:
    """Why the halt file's directory is not safe for its requests (every user may write
    there), or None: safe, or unreadable (the write or removal that follows says what is
    wrong)."""
    try:
        return halt_file.insecure_dir()
    except OSError:
        return None


def rearm_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix rearm``: remove the key's halt file.

    Args:
        args: parsed arguments.
        out: where the result goes.
        err: where problems go.

    Returns:
        0 not halted any more (or not before), 1 the file could not be removed or the
        directory is writable by every user, 2 usage.
    """
    key_id = key_id_of(args)
    if key_id is None:
        prefix = "KALSHI_" if args.product == "prediction" else "KALSHI_PERPS_"
        print(
            f"kalshi-fix rearm: no API key id: pass --key-id ID or set {prefix}KEY_ID",
            file=err,
        )
        return EXIT_USAGE
    halt_file = halt_file_for(args, key_id)
    insecure = insecure_dir_of(halt_file)
    if insecure is not None:
        print(
            f"kalshi-fix rearm: {insecure}; key {key_id} stays halted (fail-closed) while it is: "
            "nothing removed",
            file=err,
        )
        return EXIT_FAILED
    warning = halt_dir_warning(halt_file)
    if warning is not None:
        print(f"kalshi-fix rearm: {warning}", file=err)
    try:
        had = halt_file.path.exists() or halt_file.path.is_symlink()
        record = halt_file.rearm()
    except OSError as exc:
        print(
            f"kalshi-fix rearm: cannot remove the halt file {halt_file.path}: "
            f"{exc.strerror or exc}; key {key_id} stays halted",
            file=err,
        )
        return EXIT_FAILED
    if not had:
        print(f"key {key_id} was not halted (no halt file at {halt_file.path})", file=out)
        return EXIT_OK
    what = f" ({record.reason})" if record is not None else ""
    print(
        f"re-armed key {key_id}: removed {halt_file.path}{what}; its running sessions accept "
        f"new orders again within {halt_file.interval:g} s (a session halted by its own "
        "kill still needs its rearm())",
        file=out,
    )
    return EXIT_OK


def add_rearm_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix rearm`` to the subcommands of ``kalshi-fix``."""
    cmd = sub.add_parser(
        "rearm",
        description="Remove the API key's halt file, which kalshi-fix kill wrote: every "
        "order-entry session of the key on this machine accepts new orders, replaces and "
        "quotes again (running ones within a second). Connects to nothing; needs only the key "
        "id (--key-id, else KALSHI_KEY_ID; KALSHI_PERPS_KEY_ID for margin).",
        epilog="exit status: 0 the key is not halted (any more), 1 the halt file could not be "
        "removed, or the halt directory is writable by every user (its sessions stay halted), "
        "2 usage error (no key id)",
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
    add_halt_dir_option(cmd)

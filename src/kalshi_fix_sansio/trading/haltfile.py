"""A halt on disk: a kill from the shell halts the API key's other processes on this machine.

``kalshi-fix kill`` writes one small file per API key id, ``halt-<key id>.json``, in the halt
directory; every order-entry session of that key that a client makes (`HaltFile` is a client
option of every adapter, on by default) refuses new orders, replaces and quotes with
`kalshi_fix_sansio.trading.gate.TradingHalted` while the file is there, with the reason
``a kill from the shell at <time> by <user> (pid <pid> on <host>)`` (the refusal reads
"trading is halted by a kill from the shell at ..."). ``kalshi-fix rearm`` (or
`HaltFile.rearm`) removes it.

* **Where**: `default_halt_dir`: ``$XDG_STATE_HOME/kalshi-fix``, else
  ``~/.local/state/kalshi-fix`` (the XDG base directory rule for state), created mode 0700.
  The same directory for every process of the user whatever its ``store_dir``: the shell
  that kills does not know a trading process's store directory. Processes of other users see
  it only when they are given the same directory (``HaltFile(key, directory)``,
  ``kalshi-fix kill --halt-dir``).
* **Written atomically**: a temporary file in the same directory (0600), flushed to disk, then
  renamed over the halt file: a reader sees the whole record or none.
* **Noticed**: a session asks its `HaltFile` at open, then every `HaltFile.interval` seconds
  (`DEFAULT_HALT_POLL`, 1 s) on its driver's timer: never per order (a poll is one ``stat``,
  and a read only when the file changed). A running session that notices a new halt also
  cancels its own open orders (`kalshi_fix_sansio.client.driver.Driver`), without halting itself
  again: the halt lifts when the file goes.
* **Fail-closed**: a file that is there but cannot be read or parsed, is not a regular file
  (a FIFO is never opened: nothing waits on it) or is a dangling symlink, or a directory that
  cannot be searched, halts too (the reason says why); no file (or no directory) is no halt.
* **Who may write**: a halt directory every user may write to (mode ``o+w``, ``/tmp`` say)
  halts every session of the key, whatever is in it: any user could lift a halt there by
  removing the file, or plant one (`insecure_dir`; ``kalshi-fix kill`` still writes its halt
  there, and warns; ``kalshi-fix rearm`` refuses). A directory its group may write to is a
  team's shared directory on purpose (a kill by one member halts another's processes): it is
  trusted, and ``kill`` / ``rearm`` name the group in a warning.

Beside it, ``release-<key id>.json`` carries a request from the shell to lift the block of
unknown order outcomes (``kalshi-fix release-unknown``: `HaltFile.request_release`): a
running session that notices a new request (`HaltFile.release_request`, on the same timer)
lifts that block in the market named, or everywhere, as its ``release_unknown()`` does. A
request older than the session is not for it; one that cannot be read releases nothing.

It does not reach other machines: a halt file is local. The exchange side is the kill itself
(OrderMassCancelRequest on KalshiNR) and CancelOrdersOnDisconnect.

This module does file I/O (as `kalshi_fix_sansio.session.filestore` does); the sans-IO driver only
calls `HaltFile.poll` on its timer, as it calls a message store.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import attrs

from ..codec import NotASmallFile, read_small_file
from ..codec.errors import LocalProtocolError
from ..session.filestore import make_store_dir

__all__ = [
    "DEFAULT_HALT_POLL",
    "REDUCE_ONLY",
    "HaltFile",
    "HaltRecord",
    "default_halt_dir",
]

DEFAULT_HALT_POLL: Final = 1.0
"""Seconds between two looks at the halt file by a running session (the longest a session
takes to notice a halt from the shell, plus one timer's lateness)."""

REDUCE_ONLY: Final = "reduce_only"
"""`HaltRecord.mode` of ``kalshi-fix kill --reduce-only``."""
MODES: Final = ("halt", REDUCE_ONLY)

_MAX_BYTES: Final = 64 * 1024  # a halt record is ~200 bytes: more is not one
_GROUP_WRITE: Final = stat.S_IWGRP
_OTHERS_WRITE: Final = stat.S_IWOTH
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def default_halt_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user directory of halt files: ``$XDG_STATE_HOME/kalshi-fix`` when that
    variable holds an absolute path, else ``~/.local/state/kalshi-fix``.

    Args:
        environ: the environment (default: ``os.environ``).

    Returns:
        The directory (it may not exist yet).
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "")
    if base and os.path.isabs(base):
        return Path(base) / "kalshi-fix"
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".local" / "state" / "kalshi-fix"


@attrs.frozen
class HaltRecord:
    """What a halt file says.

    Attributes:
        key_id: the API key id it halts.
        at: when it was written (UTC).
        user: who wrote it (the login name).
        pid: the process that wrote it.
        host: the machine's name.
        command: what wrote it (``"kalshi-fix kill"``).
        mode: ``"halt"`` (no new orders) or ``"reduce_only"`` (only orders that can only
            shrink a position: ``kalshi-fix kill --reduce-only``).
    """

    key_id: str
    at: datetime
    user: str
    pid: int
    host: str
    command: str = "kalshi-fix kill"
    mode: str = "halt"

    @property
    def reason(self) -> str:
        """``a kill from the shell at <time> by <user> (pid <pid> on <host>)`` (reduce-only:
        ``a reduce-only order from the shell at ...``): the `TradingHalted.reason` (or
        `ReduceOnlyRefused.reason`) of the orders it refuses."""
        when = self.at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        what = "a reduce-only order" if self.mode == REDUCE_ONLY else "a kill"
        return f"{what} from the shell at {when} by {self.user} (pid {self.pid} on {self.host})"

    def to_json(self) -> str:
        """The file's text."""
        return json.dumps(
            {
                "key_id": self.key_id,
                "at": self.at.astimezone(timezone.utc).isoformat(),
                "user": self.user,
                "pid": self.pid,
                "host": self.host,
                "command": self.command,
                "mode": self.mode,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> HaltRecord:
        """Parse a halt file's text.

        Raises:
            LocalProtocolError: not a halt record (the message names the file and the field).
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LocalProtocolError(f"{where}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise LocalProtocolError(f"{where}: not a halt record (a JSON object)")

        def field(name: str, kind: type) -> Any:
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise LocalProtocolError(
                    f"{where}: field {name!r} missing or not a {kind.__name__}"
                )
            return value

        pid = field("pid", int)
        if not 0 <= pid < 2**31:
            raise LocalProtocolError(f"{where}: field 'pid' out of range: {pid}")
        try:
            at = datetime.fromisoformat(field("at", str))
        except ValueError:
            raise LocalProtocolError(f"{where}: field 'at' is not an ISO 8601 time") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        mode = data.get("mode", "halt")  # written before reduce-only existed: a halt
        if mode not in MODES:
            raise LocalProtocolError(
                f"{where}: field 'mode' must be one of {', '.join(MODES)}, got {mode!r}"
            )
        return cls(
            key_id=field("key_id", str),
            at=at,
            user=field("user", str)[:100],
            pid=pid,
            host=field("host", str)[:100],
            command=str(data.get("command") or "kalshi-fix kill")[:100],
            mode=mode,
        )


def _user() -> str:
    import getpass  # only when a halt is written: a client's import need not load it

    try:
        return getpass.getuser()
    except Exception:  # no login name in the environment nor the password database
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown user"


class HaltFile:
    """The halt file of one API key: written by a kill from the shell, polled by sessions.

    Args:
        key_id: the API key id (the sessions' SenderCompID).
        directory: where halt files are (`default_halt_dir` when None).
        interval: seconds between two looks by a running session (> 0).

    Raises:
        LocalProtocolError: an empty key id or an interval that is not seconds > 0.
    """

    def __init__(
        self,
        key_id: str,
        directory: str | os.PathLike[str] | None = None,
        *,
        interval: float = DEFAULT_HALT_POLL,
    ) -> None:
        if not isinstance(key_id, str) or not key_id:
            raise LocalProtocolError(f"key_id must be a non-empty str, got {key_id!r}")
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not 0 < interval < float("inf")
        ):
            raise LocalProtocolError(f"interval must be seconds > 0, got {interval!r}")
        self.key_id = key_id
        self.directory = Path(directory) if directory is not None else default_halt_dir()
        """The halt directory."""
        self.interval = float(interval)
        """Seconds between two looks by a running session."""
        name = _SAFE.sub("_", key_id)
        if name != key_id:  # another key could map to the same name: keep them apart
            name += "-" + key_id.encode().hex()[:16]
        self.path = self.directory / f"halt-{name}.json"
        """The halt file."""
        self.release_path = self.directory / f"release-{name}.json"
        """The file of the last request to lift the block of unknown order outcomes."""
        self._release: tuple[tuple[int, int, int], str | None] | None = None  # the last read
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime ns, size) last read
        self._reason: str | None = None
        self._mode = "halt"  # of the record last read
        self.reducing = False
        """The last `poll` read a reduce-only record (its reason is then a reduce-only one,
        not a halt); a file that cannot be read halts."""

    def __repr__(self) -> str:
        return f"HaltFile({self.key_id!r}, {str(self.directory)!r}, interval={self.interval:g})"

    # -- what the shell does -------------------------------------------------------------------

    def halt(
        self, *, at: datetime, host: str, command: str = "kalshi-fix kill", mode: str = "halt"
    ) -> HaltRecord:
        """Write the halt file (atomically: a temporary file renamed over it), creating the
        directory (0700) if needed. Halting again rewrites it.

        The time and the machine's name are the caller's (the library reads no clock and
        loads no network module): ``kalshi-fix kill`` passes
        ``datetime.now(timezone.utc)`` and ``socket.gethostname()``.

        Args:
            at: when the halt was ordered (an aware `datetime`; shown by `read`).
            host: the name of the machine that halts (``localhost`` when empty).
            command: what halts (shown by `read`).
            mode: ``"halt"``, or ``"reduce_only"``: the key's sessions let through only
                orders that can only shrink a position (they cancel nothing).

        Returns:
            The record written.

        Raises:
            LocalProtocolError: ``at`` is not an aware `datetime`, ``host`` not a str, or
                ``mode`` not one of `MODES`.
            OSError: the directory or the file cannot be written (the error names it).
        """
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise LocalProtocolError(
                f"HaltFile.halt: at must be an aware datetime (datetime.now(timezone.utc)), "
                f"got {at!r}"
            )
        if not isinstance(host, str):
            raise LocalProtocolError(
                f"HaltFile.halt: host must be a str (socket.gethostname()), got {host!r}"
            )
        if mode not in MODES:
            raise LocalProtocolError(
                f"HaltFile.halt: mode must be one of {', '.join(MODES)}, got {mode!r}"
            )
        record = HaltRecord(
            mode=mode,
            key_id=self.key_id,
            at=at.astimezone(timezone.utc),
            user=_user(),
            pid=os.getpid(),
            host=host[:100] or "localhost",
            command=command,
        )
        _write(self.directory, self.path, record.to_json())
        return record

    def request_release(self, market: str | None, *, at: datetime, host: str) -> str:
        """Ask the key's running sessions to lift their block of unknown order outcomes
        (`kalshi_fix_sansio.trading.gate.OutcomeUnknown`) in ``market`` (None: everywhere):
        the release file is written (atomically), and each session notices it within
        `interval` seconds, as it notices a halt. For an operator who checked the exchange by
        other means.

        Returns:
            What was asked, in words.

        Raises:
            LocalProtocolError: ``at`` is not an aware `datetime`, or ``market`` not a
                non-empty str or None.
            OSError: the directory or the file cannot be written (the error names it).
        """
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise LocalProtocolError(f"request_release: at must be an aware datetime, got {at!r}")
        if market is not None and (not isinstance(market, str) or not market):
            raise LocalProtocolError(
                f"request_release: market must be a non-empty str or None, got {market!r}"
            )
        record = {
            "key_id": self.key_id,
            "market": market,
            "at": at.astimezone(timezone.utc).isoformat(),
            "user": _user(),
            "pid": os.getpid(),
            "host": host[:100] or "localhost",
        }
        _write(self.directory, self.release_path, json.dumps(record, sort_keys=True))
        return f"release the unknown outcomes of key {self.key_id} in {market or 'every market'}"

    def release_request(self) -> tuple[tuple[int, int, int], str | None] | None:
        """The last request to lift the block of unknown order outcomes: (what tells it from
        another request, the market or None for every market), or None (none; or one that
        cannot be read: it releases nothing). One ``stat``; the file is read only when it
        changed. None too while every user may write to the directory (`insecure_dir`):
        any of them could plant a request there."""
        try:
            if self.insecure_dir() is not None:
                return None
            st = os.stat(self.release_path)
        except OSError:
            self._release = None
            return None
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._release is not None and self._release[0] == seen:
            return self._release
        try:
            data = json.loads(read_small_file(str(self.release_path), _MAX_BYTES))
        except (OSError, NotASmallFile, ValueError):
            return None
        market = data.get("market") if isinstance(data, dict) else 0
        if market is not None and (not isinstance(market, str) or not market):
            return None
        self._release = (seen, market)
        return self._release

    def rearm(self) -> HaltRecord | None:
        """Remove the halt file: every session of the key trades again once it noticed.

        Returns:
            What the file said (None: there was no halt; an unreadable file is removed too,
            and gives None).

        Raises:
            OSError: the file is there and cannot be removed (the error names it).
        """
        try:
            record = self.read()
        except (LocalProtocolError, OSError):
            record = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return None
        _sync_dir(self.directory)
        return record

    def read(self) -> HaltRecord | None:
        """The halt record, or None when the key is not halted (no file).

        Raises:
            LocalProtocolError: the file is there but is not a halt record.
            OSError: it cannot be read.
        """
        try:
            data = read_small_file(str(self.path), _MAX_BYTES)
        except NotASmallFile as exc:
            raise LocalProtocolError(f"{self.path}: {exc}: not a halt record") from None
        except FileNotFoundError:
            if os.path.islink(self.path):  # fail-closed: a link to nothing is not no halt
                raise LocalProtocolError(
                    f"{self.path}: a symbolic link to nothing ({os.readlink(self.path)}): not a "
                    "halt record"
                ) from None
            return None
        except NotADirectoryError:
            return None
        return HaltRecord.from_json(data.decode("utf-8", "replace"), str(self.path))

    def insecure_dir(self) -> str | None:
        """Why the halt directory cannot be trusted, or None: it is there and every user may
        write to it (``o+w``), so any of them could lift a halt (remove the file) or plant one.
        A directory that is not there, or that its group may write to (a team's on purpose),
        is None (`group_writable` names that group).

        Raises:
            OSError: the directory cannot be looked at (other than missing).
        """
        try:
            st = os.stat(self.directory)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not st.st_mode & _OTHERS_WRITE:
            return None
        return (
            f"the halt directory {self.directory} is writable by every user (mode "
            f"{stat.S_IMODE(st.st_mode):04o}): any of them could lift or plant a halt there; "
            f"make it yours only ('chmod 700 {self.directory}') or pass another directory"
        )

    def group_writable(self) -> str | None:
        """The group that may write to the halt directory besides its owner (a shared team
        directory: trusted, but worth a warning), or None."""
        try:
            st = os.stat(self.directory)
        except OSError:
            return None
        if not st.st_mode & _GROUP_WRITE:
            return None
        try:
            import grp

            return grp.getgrgid(st.st_gid).gr_name
        except (ImportError, KeyError):
            return f"gid {st.st_gid}"

    # -- what a session asks -------------------------------------------------------------------

    def poll(self, now: float) -> str | None:
        """Why the key is halted (or reduce-only: `reducing`), or None: what a session's
        driver asks on its timer.

        One ``stat`` of the directory and one of the file; the file is read again only when it
        changed (another inode, mtime or size). Fail-closed: a file that cannot be read or
        parsed, is not a regular file or is a dangling symlink, a directory that cannot be
        searched, or one every user may write to (`insecure_dir`), halts (the reason names the
        file or directory and the problem).

        Args:
            now: the driver's time (unused: the record carries its own).
        """
        reason = self._poll()
        self.reducing = reason is not None and self._mode == REDUCE_ONLY
        return reason

    def _poll(self) -> str | None:
        mode, self._mode = self._mode, "halt"  # fail-closed: what is not read again halts
        try:
            insecure = self.insecure_dir()
        except OSError as exc:
            self._seen, self._reason = None, self._unreadable(exc)
            return self._reason
        if insecure is not None:  # fail-closed: a halt there could be lifted by anyone
            self._seen, self._reason = None, insecure
            return insecure
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            if os.path.islink(self.path):
                self._seen = None
                self._reason = (
                    f"the halt file {self.path}, a symbolic link to nothing; fail-closed until "
                    "it is removed (kalshi-fix rearm removes it)"
                )
                return self._reason
            self._seen, self._reason = None, None
            return None
        except OSError as exc:
            self._seen = None
            self._reason = self._unreadable(exc)
            return self._reason
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if seen == self._seen and self._reason is not None:
            self._mode = mode  # the record read before
            return self._reason
        if not stat.S_ISREG(st.st_mode):
            reason = (
                f"the halt file {self.path}, which is not a regular file (kalshi-fix rearm "
                "removes it)"
            )
        else:
            try:
                record = self.read()
            except (LocalProtocolError, OSError) as exc:
                reason = self._unreadable(exc)
            else:
                if record is None:  # removed between the stat and the read
                    self._seen, self._reason = None, None
                    return None
                reason = record.reason
                self._mode = record.mode
        self._seen, self._reason = seen, reason
        return reason

    def _unreadable(self, exc: BaseException) -> str:
        what = getattr(exc, "strerror", None) or str(exc)
        return (
            f"the halt file {self.path}, which cannot be read ({what}); fail-closed until it "
            "can (kalshi-fix rearm removes it)"
        )


def _write(directory: Path, path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in ``directory`` (created 0700
    if needed), flushed to disk, renamed over it."""
    import tempfile  # only when a file is written (it loads shutil, bz2 and lzma)

    make_store_dir(directory)
    fd, tmp = tempfile.mkstemp(prefix=".halt-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(directory)


def _sync_dir(directory: Path) -> None:
    """Flush a rename in ``directory`` to disk (POSIX; elsewhere the rename is enough)."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    try:
        fd = os.open(directory, os.O_RDONLY | flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):  # a file system without dir fsync
            raise
    finally:
        os.close(fd)

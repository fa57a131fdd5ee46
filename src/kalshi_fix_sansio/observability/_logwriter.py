"""The FIX message log: one line per frame that crosses the wire, secrets redacted.

`MessageLog` is what every adapter writes its traffic to (``ConnectOptions.message_log``); it
knows nothing about sockets or loops, and imports neither asyncio nor trio. A write to its file
that fails raises `MessageLogError` (an `OSError` naming the file).
"""

from __future__ import annotations

import datetime
import logging
import os
from typing import Final, Literal

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.codec.framing import DEFAULT_MAX_MESSAGE_SIZE, Frame, Framer
from kalshi_fix_sansio.codec.redaction import redact_frame
from kalshi_fix_sansio.session.config import SessionConfig

__all__ = ["MESSAGE_LOGGER_NAME", "MessageLog", "MessageLogError"]

MESSAGE_LOGGER_NAME: Final = "kalshi_fix_sansio.messages"
"""The stdlib logger `MessageLog` writes to (level INFO; silent until logging is configured)."""

logging.getLogger(MESSAGE_LOGGER_NAME).addHandler(logging.NullHandler())

_ESCAPES: Final[dict[int, str]] = {
    **{c: f"\\x{c:02x}" for c in range(32)},
    1: "|",
    0x7F: "\\x7f",
    0x85: "\\x85",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _printable(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace").translate(_ESCAPES)


def _utc_iso(now: float) -> str:
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Direction = Literal["IN", "OUT"]

_NEW_FILE_MODE: Final = 0o600
"""Mode of a log file `MessageLog.open` creates: the owner's only (the umask may narrow it)."""

_OPEN_FLAGS: Final = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)


class MessageLogError(OSError):
    """Writing or closing the message log's file failed (disk full, file system gone, I/O error).

    An `OSError` (an ``except OSError`` catches it) with the failure's ``errno`` and
    ``strerror``, whose message names the file and what failed, e.g. ``message log
    /var/log/fix.log: writing failed: [Errno 28] No space left on device``; the original error
    is its ``__cause__``. Raised by the call that logged the frame: in an adapter, the session
    ends with it (the log is what a warm restart reads back, so it is never skipped silently).

    Attributes:
        filename: the log file's path.
        doing: what failed, ``"writing"`` or ``"closing"``.
    """

    def __init__(self, path: str, doing: str, error: OSError) -> None:
        super().__init__(error.errno, error.strerror)
        self.filename = path
        self.doing = doing
        self._text = f"message log {path}: {doing} failed: {error}"

    def __str__(self) -> str:
        return self._text

    def __reduce__(self) -> tuple[object, ...]:  # pickle and copy: what __init__ takes
        return (type(self), (self.filename, self.doing, OSError(self.errno, self.strerror)))


class MessageLog:
    """One line per FIX frame, like QuickFIX's message logs, with secrets redacted.

    Each line is ``<ISO UTC time> <IN|OUT> <session id> <frame>``, SOH shown as ``|`` and other
    control characters escaped (a frame can never forge a second line). RawData(96) and
    Signature(89) are redacted (`redact_frame`); key material never reaches the frames at
    all. Lines go to the stdlib logger ``kalshi_fix_sansio.messages`` at INFO (silent until the
    application configures logging) and, when ``path`` is given, to that file (append mode,
    one unbuffered write per line) between `open` and `close`: building a log opens no file.
    The file holds the account's whole order flow, so a new one is created readable and
    writable by its owner only (mode 0600, before the umask); an existing file keeps its mode
    (tighten one made by an earlier version with ``chmod 600``). A write that fails (disk
    full, an I/O error) raises `MessageLogError` naming the file from the call that logged
    the frame; nothing of the failed line waits to be written later, and the file stays open
    (each later line is tried again; `close` closes it).

    Adapters pass what crosses the socket: `received` / `sent` take raw chunks and cut them
    into frames (a framer per direction); `log_frame` takes one complete frame. Bytes that do
    not form a frame are logged as ``<garbled: reason>`` without their content. When nothing
    listens (no file, logger disabled for INFO) the calls cost almost nothing; frames split
    across a switch from disabled to enabled may show once as garbled.

    A log belongs to one session (one task or thread); it is not locked.

    Args:
        session_id: identifies the session on each line, e.g. ``"KalshiRT/<key id>"`` (no
            whitespace).
        path: file to append to, or ``None``.
        logger: logger to use instead of ``kalshi_fix_sansio.messages``.
        max_message_size: largest frame cut from `received` / `sent` chunks.

    Raises:
        LocalProtocolError: the session id has whitespace.
    """

    def __init__(
        self,
        session_id: str,
        *,
        path: str | os.PathLike[str] | None = None,
        logger: logging.Logger | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        if not session_id or any(c.isspace() for c in session_id):
            raise LocalProtocolError(
                f"MessageLog session_id must be non-empty without whitespace, got {session_id!r}"
            )
        self.session_id = session_id
        self.logger = logger if logger is not None else logging.getLogger(MESSAGE_LOGGER_NAME)
        self.path = os.fspath(path) if path is not None else None
        self._max_message_size = max_message_size
        self._framers: dict[str, Framer] = {}
        self._fd: int | None = None  # the open file (unbuffered: a line is written or raises)

    def open(self) -> MessageLog:
        """Open the file (append mode); idempotent, a no-op without ``path``.

        Adapters call this when their session opens (and `close` when it closes), so building
        a client never creates or locks a file; ``with MessageLog(...) as log:`` opens too. A
        file it creates is owner-only (0600); an existing file's mode is left as it is.

        Returns:
            The log itself.

        Raises:
            LocalProtocolError: the file cannot be opened (the message names the path).
        """
        if self.path is not None and self._fd is None:
            try:  # os.open: the mode of a file it creates (open() would make it 0666 - umask)
                self._fd = os.open(self.path, _OPEN_FLAGS, _NEW_FILE_MODE)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise LocalProtocolError(
                    f"cannot open FIX message log {self.path!r}: {reason}"
                ) from None
        return self

    @classmethod
    def for_config(
        cls, config: SessionConfig, *, path: str | os.PathLike[str] | None = None
    ) -> MessageLog:
        """A log whose session id is ``<session type>/<SenderCompID>`` of ``config``.

        Args:
            config: the session's config.
            path: file to append to, or ``None``.

        Returns:
            The log.
        """
        return cls(f"{config.session_type}/{config.sender_comp_id}", path=path)

    @property
    def enabled(self) -> bool:
        """Lines are written somewhere (a file is open, or the logger takes INFO)."""
        return self._fd is not None or self.logger.isEnabledFor(logging.INFO)

    def log_frame(self, direction: Direction, frame: bytes, now: float) -> None:
        """Log one complete frame.

        Args:
            direction: ``"IN"`` (received) or ``"OUT"`` (sent).
            frame: the frame's bytes.
            now: POSIX time of the event (the pump's clock: the log reads none).

        Raises:
            MessageLogError: writing the file failed.
        """
        if self.enabled:
            self._write(direction, _printable(redact_frame(bytes(frame))), now)

    def received(self, data: bytes, now: float) -> None:
        """Log the frames in a chunk read from the transport (partial frames wait).

        Args:
            data: bytes as read.
            now: POSIX time of the read.

        Raises:
            MessageLogError: writing the file failed.
        """
        self._stream("IN", data, now)

    def sent(self, data: bytes, now: float) -> None:
        """Log the frames in a chunk written to the transport (e.g. from ``data_to_send()``).

        Args:
            data: bytes as written.
            now: POSIX time of the write.

        Raises:
            MessageLogError: writing the file failed.
        """
        self._stream("OUT", data, now)

    def _stream(self, direction: Direction, data: bytes, now: float) -> None:
        if not self.enabled:
            self._framers.pop(direction, None)
            return
        framer = self._framers.get(direction)
        if framer is None:
            framer = self._framers[direction] = Framer(max_message_size=self._max_message_size)
        framer.feed(data)
        for item in framer:
            if isinstance(item, Frame):
                self._write(direction, _printable(redact_frame(item.data)), now)
            else:
                self._write(direction, f"<garbled: {_printable(item.reason.encode())}>", now)

    def _write(self, direction: Direction, text: str, now: float) -> None:
        line = f"{_utc_iso(now)} {direction} {self.session_id} {text}"
        self.logger.info(
            "%s", line, extra={"fix_direction": direction, "fix_session": self.session_id}
        )
        fd = self._fd
        if fd is not None:
            data = (line + "\n").encode("utf-8")
            try:  # O_APPEND: each write lands at the end of the file
                written = os.write(fd, data)
                while written < len(data):  # a short write (a nearly full disk): the rest
                    data = data[written:]
                    written = os.write(fd, data)
            except OSError as exc:
                assert self.path is not None
                raise MessageLogError(self.path, "writing", exc) from exc

    def close(self) -> None:
        """Close the file (idempotent); later frames go to the logger only.

        Raises:
            MessageLogError: closing the file failed (it is closed all the same).
        """
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                assert self.path is not None
                raise MessageLogError(self.path, "closing", exc) from exc

    def __enter__(self) -> MessageLog:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

"""The sans-IO core in your own event loop: `Session` over a `selectors` + `ssl` socket.

No adapter here: this script owns the socket, the TLS wrapper and the loop, and the library's
`kalshi_fix_sansio.session.machine.Session` only turns bytes and times into events and bytes. The
pattern is the same for any loop (a game loop, an exchange gateway, a C extension's poller):

* connect and do the TLS handshake yourself (`make_ssl_context` verifies Kalshi's certificate);
* ``session.start(now)`` queues the signed Logon; write ``session.data_to_send()`` whenever
  it has bytes (here: buffered, written when the selector says the socket is writable);
* feed every chunk read to ``session.receive_data(data, now)`` (``b""`` at EOF), then take
  ``session.events()`` until there are none;
* wake up at ``session.next_deadline()`` and call ``session.handle_timer(now)``: that is
  what sends Heartbeats and TestRequests and notices a silent peer;
* ``now`` is always ``time.time()`` read by *you*: the core never reads a clock;
* Ctrl-C is an input of the loop too (`CtrlC`): the loop logs out, then ends as interrupted,
  instead of a `KeyboardInterrupt` raised halfway through whatever it was doing.

It logs on to KalshiMD, subscribes to ``--symbol``, keeps the book from the snapshot and
updates and prints the top of book on each change, then logs out after ``--messages``
application messages or ``--seconds`` seconds and closes the socket when the session says so.

Against Kalshi's demo environment::

    python examples/selectors_loop.py --key-id KEY --key-file key.pem --symbol SOME-MARKET

Against the embedded mock gateway::

    python examples/selectors_loop.py --mock --messages 1
"""

from __future__ import annotations

import argparse
import contextlib
import selectors
import signal
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from types import FrameType

import _support

from kalshi_fix_sansio import State
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    CloseTransport,
    LoggedOn,
    LoggedOut,
    LogonRejected,
)
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.prices import format_top

READ_SIZE = 65536


class CtrlC:
    """Ctrl-C (SIGINT) as an input of the loop, until `close`: the handler only counts it, and
    the interpreter writes a byte to ``wakeup`` (`signal.set_wakeup_fd`), a socket the
    selector watches, so the wait ends at once."""

    def __init__(self) -> None:
        self.count = 0
        self.wakeup, self._writer = socket.socketpair()
        self.wakeup.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._previous = signal.signal(signal.SIGINT, self._pressed)

    def _pressed(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    def close(self) -> None:
        """Ctrl-C raises `KeyboardInterrupt` again."""
        signal.signal(signal.SIGINT, self._previous)
        signal.set_wakeup_fd(self._previous_fd)
        self.wakeup.close()
        self._writer.close()


class Connection:
    """One non-blocking (TLS) socket with an outgoing buffer, driven by a selector (which
    also watches ``wakeup``, e.g. `CtrlC`'s, and empties it)."""

    def __init__(self, sock: socket.socket, wakeup: socket.socket | None = None) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)
        self.wakeup = wakeup
        if wakeup is not None:
            self.selector.register(wakeup, selectors.EVENT_READ)
        self.outgoing = bytearray()

    def queue(self, data: bytes) -> None:
        """Buffer bytes to write; the selector watches for writability while any wait."""
        if data:
            self.outgoing += data
            self.selector.modify(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def wait(self, timeout: float | None) -> tuple[bool, bool]:
        """Wait up to ``timeout`` seconds; returns (readable, writable)."""
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0
        ready = self.selector.select(0 if pending else timeout)
        mask = 0
        for key, events in ready:
            if key.fileobj is self.sock:
                mask |= events
            elif self.wakeup is not None:  # a signal came (its handler has run): empty it
                with contextlib.suppress(BlockingIOError):
                    self.wakeup.recv(512)
        return pending or bool(mask & selectors.EVENT_READ), bool(mask & selectors.EVENT_WRITE)

    def read(self) -> bytes | None:
        """What the socket has (``b""``: the peer closed it), or None when nothing yet."""
        try:
            return self.sock.recv(READ_SIZE)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return None

    def write(self) -> None:
        """Write as much of the buffer as the socket takes."""
        try:
            sent = self.sock.send(self.outgoing)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        del self.outgoing[:sent]
        if not self.outgoing:
            self.selector.modify(self.sock, selectors.EVENT_READ)

    def close(self) -> None:
        """Close the selector and the socket."""
        self.selector.close()
        self.sock.close()


def connect(target: _support.Target, session_type: str, wakeup: socket.socket) -> Connection:
    """TCP connect, then the TLS handshake (blocking, with a timeout), then non-blocking."""
    endpoint = target.endpoint(session_type)
    raw = socket.create_connection((endpoint.host, endpoint.port), timeout=10)
    if not endpoint.tls:  # plain TCP: only to loopback (checked by target.endpoint)
        return Connection(raw, wakeup)
    tls = target.ssl_context().wrap_socket(raw, server_hostname=endpoint.server_hostname)
    return Connection(tls, wakeup)


def stream_top_of_book(target: _support.Target, args: argparse.Namespace) -> int:
    """Log on to KalshiMD, print the top of book on each change, log out; returns 0 or 1.

    Ctrl-C: log out (once logged on), then `KeyboardInterrupt`; a second one: at once.
    """
    session = Session(
        SessionConfig(
            sender_comp_id=target.key_id,
            product=target.product,
            session_type="KalshiMD",
            signer=target.signer(),
        )
    )
    ctrl_c = CtrlC()
    try:
        conn = connect(target, "KalshiMD", ctrl_c.wakeup)
    except BaseException:
        ctrl_c.close()
        raise
    books = Books()
    received = 0
    stop_at = time.time() + args.seconds
    status = 0
    session.start(time.time())
    conn.queue(session.data_to_send())
    try:
        while True:
            now = time.time()
            deadline = min(d for d in (session.next_deadline(), stop_at) if d is not None)
            readable, writable = conn.wait(max(deadline - now, 0))
            now = time.time()
            if writable:
                conn.write()
            if readable and (data := conn.read()) is not None:
                session.receive_data(data, now)
            session.handle_timer(now)
            done = False
            for event in session.events():
                if isinstance(event, LoggedOn):
                    print(f"logged on to KalshiMD as {target.key_id}")
                    request = Requests(target.product, "KalshiMD").subscribe(target.symbol)
                    session.send(request, now)
                elif isinstance(event, ApplicationMessage):
                    received += 1
                    if target.symbol in books.apply(event.message):
                        print(format_top(books[target.symbol], target.product))
                elif isinstance(event, LogonRejected):
                    print(f"Logon refused: {event.text}", file=sys.stderr)
                    status = 1
                elif isinstance(event, LoggedOut):
                    print(f"logged out ({'by Kalshi' if event.by_peer else 'by us'})")
                elif isinstance(event, CloseTransport):
                    done = True
            conn.queue(session.data_to_send())
            if done:
                conn.write()  # the Logout (or its answer) may still be buffered
                if ctrl_c.count:
                    raise KeyboardInterrupt  # logged out: end as Ctrl-C ends every example
                return status
            if ctrl_c.count > 1:
                raise KeyboardInterrupt  # Ctrl-C again: stop now
            enough = received >= args.messages or now >= stop_at or ctrl_c.count > 0
            if session.state is State.ACTIVE and enough:
                session.logout(now)
                stop_at = float("inf")  # the logout timeout takes over
                conn.queue(session.data_to_send())
    finally:
        conn.close()
        ctrl_c.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (0 success, 1 failure, 2 usage error, 130
    interrupted)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20, help="log out after this many")
    parser.add_argument("--seconds", type=float, default=10.0, help="log out after this long")
    return _support.run(parser, argv, stream_top_of_book)


if __name__ == "__main__":
    sys.exit(main())

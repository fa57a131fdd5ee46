"""A loopback TCP relay that injects transport faults from outside both programs.

`FaultRelay` listens on loopback and forwards every connection it accepts to a target (a mock
gateway's port, or any server), byte for byte: TLS runs end to end through it, so neither end
can tell it is there until it acts on the connections live at that moment:

* `reset`: an RST to both ends (a crashed peer, a middlebox dropping state);
* `close`: a FIN to both ends;
* `stall`: the relay stops reading one direction or both, so what the sender writes waits in
  the kernel's buffers and then blocks it (a link gone quiet; a receiver that does not read,
  as far as the sender can tell); `resume` forwards again;
* `blackhole`: what comes one way is read and thrown away (the other end hears nothing while
  the connection stays up);
* `reset_after`: an RST to both ends once a number of bytes more went client to server (a reset
  while the client is sending);
* `refuse`: the next connections are accepted, then reset at once.

A connection accepted later starts clean (a fault acts on what is live when it is asked for),
and when either end closes or resets its connection, the relay does the same to the other
end, also while that direction is stalled. The relay runs in a thread of its own; what it
offers to wait on (`wait_connections`, `wait_relayed`, `wait_ends`) is bounded by a
timeout::

    relay = FaultRelay("127.0.0.1", gateway.ports["KalshiNR"]).start()
    endpoint = Endpoint("127.0.0.1", relay.port, server_hostname="localhost")
    ...                                # a client connects to the relay's port
    relay.reset()                      # both ends see the connection reset
    relay.wait_connections(2, 10.0)    # the client came back
    relay.close_relay()
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from typing import Literal

__all__ = ["Direction", "FaultRelay"]

Direction = Literal["up", "down", "both"]
"""``"up"``: client to server; ``"down"``: server to client; ``"both"``."""

_CHUNK = 65536
_END = {"up": "client", "down": "server"}  # who sends in a direction
_TICK = 0.02  # how often stalled connections are checked for an end that reset them


def _rst(sock: socket.socket) -> None:
    """Close ``sock`` with an RST (SO_LINGER on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Link:
    """One relayed connection: the client's socket, the server's, and the faults on it."""

    __slots__ = ("client", "holed", "pending", "server", "stalled")

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.stalled = {"up": False, "down": False}
        self.holed = {"up": False, "down": False}
        self.pending = {"up": b"", "down": b""}  # read, not yet taken by the other end

    def direction_from(self, sock: socket.socket) -> str:
        return "up" if sock is self.client else "down"

    def source(self, direction: str) -> socket.socket:
        return self.client if direction == "up" else self.server

    def sink(self, direction: str) -> socket.socket:
        return self.server if direction == "up" else self.client


def _directions(direction: Direction) -> tuple[str, ...]:
    if direction not in ("up", "down", "both"):
        raise ValueError(f"direction must be 'up', 'down' or 'both', got {direction!r}")
    return ("up", "down") if direction == "both" else (direction,)


class FaultRelay:
    """A loopback relay between clients and ``(host, port)`` that injects faults (see the
    module docstring).

    Args:
        host: the target's address.
        port: the target's port.
        listen_host: the loopback address the relay listens on.
    """

    def __init__(
        self,
        host: str,
        port: int,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.target = (host, port)
        self._listener = socket.create_server((listen_host, 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        """The port clients connect to."""
        self._mu = threading.Condition()
        self._links: list[_Link] = []
        self._orders: list[tuple[str, object, list[int], threading.Event]] = []
        self._reset_in: int | None = None  # reset once this many more bytes went up
        self._refusing = 0
        self._accepted = 0
        self._bytes = {"up": 0, "down": 0}
        self.ends: list[str] = []
        """How each connection ended, in order: ``"client closed"``, ``"client reset"``,
        ``"server closed"``, ``"server reset"`` (that end did it; the relay then did the same
        to the other end), ``"relay reset"`` or ``"relay close"`` (a fault asked for), ``"relay stopped"``."""
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._sel: selectors.BaseSelector = selectors.DefaultSelector()  # the thread's own

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> FaultRelay:
        """Start relaying in a daemon thread; returns the relay."""
        self._thread = threading.Thread(target=self._run, name="fault-relay", daemon=True)
        self._thread.start()
        return self

    def close_relay(self) -> None:
        """Stop the relay: every connection is closed, the listener too; idempotent."""
        with self._mu:
            self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None

    def __enter__(self) -> FaultRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close_relay()

    # -- what it counts -------------------------------------------------------------------------

    @property
    def accepted(self) -> int:
        """Connections accepted so far (refused ones included)."""
        with self._mu:
            return self._accepted

    @property
    def live(self) -> int:
        """Connections being relayed now."""
        with self._mu:
            return len(self._links)

    def relayed(self, direction: Literal["up", "down"]) -> int:
        """Bytes forwarded so far in ``direction``."""
        with self._mu:
            return self._bytes[direction]

    def wait_connections(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` connections were accepted in all (refused ones included), at
        most ``timeout`` seconds; True when they were."""
        with self._mu:
            return self._mu.wait_for(lambda: self._accepted >= count, timeout)

    def wait_ends(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` connections in all have ended (`ends`), at most ``timeout``
        seconds; True when they have."""
        with self._mu:
            return self._mu.wait_for(lambda: len(self.ends) >= count, timeout)

    def wait_relayed(self, direction: Literal["up", "down"], count: int, timeout: float) -> bool:
        """Wait until ``count`` bytes in all were forwarded in ``direction``, at most
        ``timeout`` seconds; True when they were."""
        with self._mu:
            return self._mu.wait_for(lambda: self._bytes[direction] >= count, timeout)

    # -- the faults -----------------------------------------------------------------------------

    def reset(self) -> int:
        """Reset every live connection now (an RST to both ends); how many were reset."""
        return self._order("reset")

    def close(self) -> int:
        """Close every live connection now (a FIN to both ends); how many were closed."""
        return self._order("close")

    def stall(self, direction: Direction = "both") -> int:
        """Stop reading ``direction`` of every live connection until `resume`; how many."""
        return self._order("stall", _directions(direction))

    def blackhole(self, direction: Direction = "down") -> int:
        """Read and throw away what comes ``direction`` on every live connection until
        `resume`: the other end hears nothing while the connection stays up; how many."""
        return self._order("blackhole", _directions(direction))

    def resume(self, direction: Direction = "both") -> int:
        """Forward ``direction`` of every live connection again; how many."""
        return self._order("resume", _directions(direction))

    def reset_after(self, upstream_bytes: int) -> None:
        """Reset every live connection once ``upstream_bytes`` more bytes went client to
        server (forwarded first: the server got them, the client's read meets the reset)."""
        with self._mu:
            self._reset_in = upstream_bytes
        self._wake()

    def refuse(self, count: int) -> None:
        """Reset the next ``count`` connections as soon as they are accepted."""
        with self._mu:
            self._refusing = count

    # -- the thread -----------------------------------------------------------------------------

    def _order(self, what: str, arg: object = None) -> int:
        """Have the relay's thread do ``what`` to every live connection; how many."""
        if self._thread is None:
            raise RuntimeError("the relay is not started: call start() first")
        done, box = threading.Event(), []  # type: tuple[threading.Event, list[int]]
        with self._mu:
            self._orders.append((what, arg, box, done))
        self._wake()
        if not done.wait(10.0):
            raise RuntimeError(f"the relay's thread did not {what} within 10 s")
        return box[0]

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        sel = self._sel
        sel.register(self._listener, selectors.EVENT_READ, None)
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        try:
            while True:
                with self._mu:
                    if self._stopping:
                        break
                    orders, self._orders = self._orders, []
                for what, arg, box, done in orders:
                    box.append(self._apply(what, arg))
                    done.set()
                self._watch(sel)
                for key, events in sel.select(_TICK):
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    else:
                        link, sock = key.data, key.fileobj
                        if events & selectors.EVENT_WRITE:
                            self._flush(link, "down" if sock is link.client else "up")
                        if events & selectors.EVENT_READ:
                            self._forward(link, link.direction_from(sock))
                self._check_stalled()
        finally:
            for link in list(self._links):
                self._end(link, reset=False, why="relay stopped")
            sel.close()
            self._listener.close()
            self._wake_r.close()
            self._wake_w.close()
            with self._mu:
                for _, _, box, done in self._orders:
                    box.append(0)
                    done.set()

    def _apply(self, what: str, directions: object) -> int:
        links = list(self._links)
        for link in links:
            if what in ("reset", "close"):
                self._end(link, reset=what == "reset", why=f"relay {what}")
                continue
            assert isinstance(directions, tuple)
            for direction in directions:
                if what == "stall":
                    link.stalled[direction] = True
                elif what == "blackhole":
                    link.holed[direction] = True
                else:
                    link.stalled[direction] = link.holed[direction] = False
        return len(links)

    def _watch(self, sel: selectors.BaseSelector) -> None:
        """Read each direction not stalled whose last bytes the other end took; write where
        bytes wait (the selector's keys follow the links)."""
        wanted: dict[socket.socket, tuple[int, _Link]] = {}
        for link in self._links:
            for direction in ("up", "down"):
                if link.pending[direction]:
                    sock, mask = link.sink(direction), selectors.EVENT_WRITE
                elif not link.stalled[direction]:
                    sock, mask = link.source(direction), selectors.EVENT_READ
                else:
                    continue
                had = wanted.get(sock, (0, link))[0]
                wanted[sock] = (had | mask, link)
        registered = {key.fileobj: key for key in sel.get_map().values()}
        for gone in set(registered) - {self._listener, self._wake_r, *wanted}:
            sel.unregister(gone)
        for sock, (mask, link) in wanted.items():
            key = registered.get(sock)
            if key is None:
                sel.register(sock, mask, link)
            elif key.events != mask:
                sel.modify(sock, mask, link)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        with self._mu:
            refuse = self._refusing > 0
            if refuse:
                self._refusing -= 1
        server = None
        if not refuse:
            try:
                server = socket.create_connection(self.target, timeout=5.0)
            except OSError:
                pass
        if server is None:  # refused, or the target is not there: reset at once
            _rst(client)
        else:
            for sock in (client, server):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._links.append(_Link(client, server))
        with self._mu:  # counted once relayed (or refused): a waiter may act on it at once
            self._accepted += 1
            self._mu.notify_all()

    def _forward(self, link: _Link, direction: str) -> None:
        if link not in self._links:
            return
        try:
            data = link.source(direction).recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            self._end(link, reset=True, why=f"{_END[direction]} reset")
            return
        if not data:  # that end closed: so does the relay, both ways
            self._end(link, reset=False, why=f"{_END[direction]} closed")
            return
        if link.holed[direction]:
            return
        reset_due = False
        with self._mu:
            self._bytes[direction] += len(data)
            if direction == "up" and self._reset_in is not None:
                self._reset_in -= len(data)
                if self._reset_in <= 0:
                    self._reset_in, reset_due = None, True
            self._mu.notify_all()
        link.pending[direction] = data
        self._flush(link, direction)
        if reset_due:
            self._apply("reset", None)

    def _flush(self, link: _Link, direction: str) -> None:
        """Write what waits for ``direction``'s other end, as far as it takes it now."""
        if link not in self._links:
            return
        data = link.pending[direction]
        try:
            sent = link.sink(direction).send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._end(
                link, reset=True, why=f"{_END['up' if direction == 'down' else 'down']} reset"
            )
            return
        link.pending[direction] = data[sent:]

    def _check_stalled(self) -> None:
        """An end that reset a connection while the relay does not read it (stalled, or its
        bytes wait for the other end) is found by its pending error: the relay resets the
        other end too."""
        for link in list(self._links):
            for direction in ("up", "down"):
                if link.stalled[direction] or link.pending[direction]:
                    sock = link.source(direction)
                    try:
                        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    except OSError:
                        error = 1
                    if error:
                        self._end(link, reset=True, why=f"{_END[direction]} reset")
                        break

    def _end(self, link: _Link, *, reset: bool, why: str) -> None:
        if link not in self._links:
            return
        self._links.remove(link)
        with self._mu:
            self.ends.append(why)
            self._mu.notify_all()
        for sock in (link.client, link.server):
            with contextlib.suppress(KeyError):
                self._sel.unregister(sock)
            if reset:
                _rst(sock)
            else:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

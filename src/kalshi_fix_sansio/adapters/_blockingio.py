"""What the blocking adapter's pump asks of the system: a socket connected (`open_socket`), a
wait on it (`Ready`), threads started and joined (`started`, `joined`)."""

from __future__ import annotations

import contextlib
import math
import select
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from kalshi_fix_sansio.client.pump import ConnectOptions, loopback_addresses

__all__ = ["Ready", "joined", "open_socket", "started"]


class Ready:
    """The reader's wait: until its socket has something for a read (or takes bytes again,
    while some wait for it), the session's wake-up pipe has a byte, or a timeout. ``poll``
    where the system has it (the pipe registered once, the socket again only when the
    connection or what is watched changes), else ``select``."""

    def __init__(self) -> None:
        self.r, self.w = socket.socketpair()  # a byte in it wakes the wait
        self.r.setblocking(False)
        self.w.setblocking(False)
        self.poll = select.poll() if hasattr(select, "poll") else None
        if self.poll is not None:
            self.poll.register(self.r, select.POLLIN)
        self.fd, self.writing = -1, False  # the socket polled, and whether for writing too

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # already woken (the pipe is full), or closed
            self.w.send(b"\0")

    def close(self) -> None:
        self.r.close()
        self.w.close()

    def wait(self, sock: socket.socket, writing: bool, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds (``math.inf``: no limit); True when ``sock`` had an
        event: bytes, EOF or an error for the read to find (or, waiting for ``writing``, room
        to write: the read then finds nothing)."""
        if self.poll is None:
            return self._select(sock, writing, timeout)
        fd = sock.fileno()
        if fd != self.fd or writing is not self.writing:
            self._watch(fd, writing)
        readable = False
        for got, _ in self.poll.poll(None if timeout == math.inf else timeout * 1000.0):
            if got == fd:
                readable = True
            else:
                self.r.recv(4096)
        return readable

    def _watch(self, fd: int, writing: bool) -> None:
        assert self.poll is not None
        events = select.POLLIN | select.POLLOUT if writing else select.POLLIN
        if fd == self.fd:
            self.poll.modify(fd, events)
        else:
            if self.fd != -1:
                self.poll.unregister(self.fd)  # a closed connection's
            self.poll.register(fd, events)
        self.fd, self.writing = fd, writing

    def _select(self, sock: socket.socket, writing: bool, timeout: float) -> bool:
        ready, _, _ = select.select(
            [sock, self.r], [sock] if writing else [], [], None if timeout == math.inf else timeout
        )
        if self.r in ready:
            self.r.recv(4096)
        return sock in ready


def open_socket(options: ConnectOptions, context: ssl.SSLContext | None) -> socket.socket:
    """A connected socket to ``options.endpoint`` within ``options.connect_timeout`` (TLS with
    ``context``; plain TCP only to checked loopback addresses), non-blocking from then on
    (`ThreadPump._step` waits in poll, or select)."""
    ep = options.endpoint
    if context is None:
        rows = socket.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
        address = loopback_addresses(ep, rows)[0]
    else:
        address = ep.host
    raw = socket.create_connection((address, ep.port), timeout=options.connect_timeout)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            raw = context.wrap_socket(raw, server_hostname=ep.server_hostname)
        raw.settimeout(0.0)
    except BaseException:
        raw.close()
        raise
    return raw


def started(target: Callable[..., None], args: tuple[Any, ...], name: str) -> threading.Thread:
    """A daemon thread named ``name`` running ``target(*args)``, started."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def joined(thread: threading.Thread | None, timeout: float) -> threading.Thread | None:
    """Wait up to ``timeout`` seconds for ``thread`` to end (unless it is the calling thread):
    None once it has ended, else ``thread``."""
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
    return thread if thread is not None and thread.is_alive() else None

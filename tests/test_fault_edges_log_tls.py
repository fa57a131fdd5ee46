"""Fault edges of the adapters found by probes: a message log that cannot be written, a server
certificate that cannot be trusted, the mode of a new store directory.

* A write to the message log's file that fails (``/dev/full``: ENOSPC on every write) raises
  `MessageLogError`: an `OSError` naming the file and what failed, never a bare ``[Errno 28]``.
* A certificate the TLS handshake refuses (not trusted, not the pinned one, not valid for the
  host name) is final: one connection attempt, whatever the `Backoff` allows, and a
  `ConnectionFailed` naming the endpoint and what was wrong (`CertificateRefused`). The server
  is a TLS listener on loopback that counts the connections it accepts.
* `make_store_dir` creates a store directory (and its missing parents) 0700, whatever the
  umask, and leaves an existing directory's mode alone.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import trio

from kalshi_fix_sansio import Backoff, ConnectionFailed
from kalshi_fix_sansio.adapters import CertificateRefused, make_ssl_context
from kalshi_fix_sansio.adapters import asyncio as asyncio_adapter
from kalshi_fix_sansio.adapters import blocking as blocking_adapter
from kalshi_fix_sansio.adapters import trio as trio_adapter
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.client.supervisor import Reconnecting, Supervisor
from kalshi_fix_sansio.observability import MessageLog, MessageLogError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.session.filestore import FileStore, make_store_dir
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

HEARTBEAT = b"8=FIXT.1.1\x019=5\x0135=0\x0110=000\x01"
FULL = "/dev/full"
needs_dev_full = pytest.mark.skipif(
    not os.path.exists(FULL), reason="needs /dev/full (Linux), whose writes fail with ENOSPC"
)
MODULES: dict[str, ModuleType] = {
    "blocking": blocking_adapter,
    "asyncio": asyncio_adapter,
    "trio": trio_adapter,
}


# --------------------------------------------------------------------------------------------
# the message log


@needs_dev_full
def test_a_failed_message_log_write_names_the_file_and_stays_an_os_error() -> None:
    log = MessageLog("KalshiNR/key-1", path=FULL).open()
    try:
        for write in (
            lambda: log.log_frame("OUT", HEARTBEAT, now=0.0),
            lambda: log.sent(HEARTBEAT, now=0.0),
            lambda: log.received(HEARTBEAT, now=0.0),
        ):
            with pytest.raises(MessageLogError) as info:
                write()
            error = info.value
            assert str(error) == (
                f"message log {FULL}: writing failed: [Errno {errno.ENOSPC}] "
                f"{os.strerror(errno.ENOSPC)}"
            )
            assert (error.errno, error.filename, error.doing) == (errno.ENOSPC, FULL, "writing")
            assert isinstance(error, OSError)  # existing `except OSError` still catch it
            assert isinstance(error.__cause__, OSError) and error.__cause__.errno == errno.ENOSPC
    finally:
        log.close()
    log.close()  # idempotent


@needs_dev_full
@pytest.mark.parametrize("adapter", ["blocking", "asyncio", "trio"])
def test_a_client_whose_message_log_cannot_be_written_fails_naming_it(
    adapter: str, tmp_path: Path
) -> None:
    """End to end: the first write to the log (the Logon, once TLS is up: the certificate is
    pinned) fails; opening the session raises the log's error, not retried (asyncio would
    have swallowed it, raised in its transport's callback, and reconnected)."""
    cert, key = self_signed(tmp_path)
    with TLSServer(server_context(cert, key)) as server:
        client = MODULES[adapter].FixClient(
            Credentials("key-1", new_ed25519_keys()[0]),
            endpoints={"KalshiNR": Endpoint("127.0.0.1", server.port, server_hostname="localhost")},
            ssl_context=make_ssl_context(pinned_cert=str(cert)),
            backoff=Backoff(base=0.001, cap=0.001, attempts=20),
            message_log_path=FULL,
        )
        with pytest.raises(MessageLogError, match=f"^message log {FULL}: writing failed: "):
            _run_open(adapter, client.order_entry())
    assert (server.accepted, server.hung) == (1, 0)  # one attempt, its connection closed


# --------------------------------------------------------------------------------------------
# TLS: a refused certificate is final


class TLSServer:
    """A TLS listener on 127.0.0.1 in a thread: counts the connections it accepts, and makes
    the handshake of each (which the client may refuse), then reads until the client closes
    (`hung` counts the connections the client left open for 5 s)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self.hung = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.stopping:  # the wake-up of `close`: every client connection came before
                conn.close()
                return
            self.accepted += 1
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        while tls.recv(65536):
                            pass
                except TimeoutError:
                    self.hung += 1
                except OSError:
                    pass  # the client refused the certificate (an alert), or went away

    def __enter__(self) -> TLSServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping = True
        socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        self.thread.join(10)
        self.listener.close()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The server's self-signed certificate (for localhost, 127.0.0.1) and key, and another
    self-signed certificate (a pin that does not match)."""
    cert, key = self_signed(tmp_path_factory.mktemp("server"))
    other, _ = self_signed(tmp_path_factory.mktemp("other"))
    return {"cert": cert, "key": key, "other": other}


@pytest.fixture
def tls_server(certificates: dict[str, Path]) -> Iterator[TLSServer]:
    with TLSServer(server_context(certificates["cert"], certificates["key"])) as server:
        yield server


CASES = {
    # case: (the client's context, its server_hostname, what the error says)
    "untrusted": (None, "localhost", "self-signed certificate; the trusted CAs"),
    "pinned other": ("other", "localhost", "it is not the pinned certificate (pinned_cert)"),
    "host name": ("cert", "fix.example.com", "the certificate does not name 'fix.example.com'"),
}


async def _open(adapter: str, session: Any) -> None:
    if adapter == "blocking":
        with session:
            pass  # pragma: no cover
    else:
        async with session:
            pass  # pragma: no cover


def _run_open(adapter: str, session: Any) -> None:
    if adapter == "trio":
        trio.run(_open, adapter, session)
    else:
        asyncio.run(_open(adapter, session))


@pytest.mark.parametrize("adapter", list(MODULES))
@pytest.mark.parametrize("case", list(CASES))
def test_a_refused_certificate_is_final(
    adapter: str, case: str, tls_server: TLSServer, certificates: dict[str, Path]
) -> None:
    pin, hostname, says = CASES[case]
    context = make_ssl_context(pinned_cert=str(certificates[pin])) if pin else make_ssl_context()
    endpoint = Endpoint("127.0.0.1", tls_server.port, server_hostname=hostname)
    client = MODULES[adapter].FixClient(
        Credentials("key-1", new_ed25519_keys()[0]),
        endpoints={"KalshiNR": endpoint},
        ssl_context=context,
        backoff=Backoff(base=0.001, cap=0.001, attempts=50),  # 51 attempts, were it retried
    )
    session = client.order_entry()
    with pytest.raises(ConnectionFailed) as info:
        _run_open(adapter, session)
    assert tls_server.accepted == 1  # one connection: no retry
    failure = info.value
    assert failure.attempts == 1 and session.connections == 0
    refused = failure.last_error
    assert isinstance(refused, CertificateRefused) and refused.final
    assert refused.endpoint == endpoint
    assert isinstance(refused.__cause__, ssl.SSLCertVerificationError)
    assert refused.verify_code == refused.__cause__.verify_code
    assert isinstance(refused, ssl.SSLCertVerificationError)  # what was raised before
    text = str(failure)
    assert f"could not connect to {endpoint} after 1 attempt" in text
    assert f"the TLS certificate of {endpoint} (host name {hostname!r}) was refused" in text
    assert says in text and "Not retried" in text


class _Refused(OSError):
    final = True  # what `CertificateRefused` says: the supervisor gives up at once


@pytest.mark.parametrize("error", [_Refused("certificate refused"), ConnectionRefusedError()])
def test_the_supervisor_gives_up_at_once_on_a_final_connect_error(error: OSError) -> None:
    """The core's side (sans-IO, no clock): an attempt that failed with an error whose
    ``final`` is true ends the supervisor at once; any other is retried per the backoff."""
    config = SessionConfig(
        sender_comp_id="key-1", product="prediction", signer=new_ed25519_keys()[0]
    )
    sup = Supervisor(config, backoff=Backoff(attempts=50, seed=1), peer="tls://gateway:8228")
    sup.start(0.0)
    sup.connection_failed(0.0, error)
    events = []
    while (event := sup.next_event()) is not None:
        events.append(event)
    if isinstance(error, _Refused):
        assert isinstance(sup.failure, ConnectionFailed) and sup.finished
        assert sup.failure.attempts == 1 and sup.failure.last_error is error
        assert sup.connect_at is None and events == []
    else:
        assert sup.failure is None and sup.connect_at is not None
        assert [type(e) for e in events] == [Reconnecting]


# --------------------------------------------------------------------------------------------
# the store directory's mode


@pytest.fixture
def no_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_new_store_directory_is_private_under_a_zero_umask(
    tmp_path: Path, no_umask: None
) -> None:
    target = tmp_path / "a" / "b" / "store"
    assert make_store_dir(target) == target
    for directory in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    store = FileStore(target / "x.fixlog")  # its files are 0600, the umask notwithstanding
    store.close()
    assert stat.S_IMODE((target / "x.fixlog").stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_an_existing_store_directory_keeps_its_mode(tmp_path: Path, no_umask: None) -> None:
    shared = tmp_path / "group-dir"
    shared.mkdir(mode=0o750)
    assert make_store_dir(shared) == shared
    assert stat.S_IMODE(shared.stat().st_mode) == 0o750  # the user's choice: not changed
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(FileExistsError):
        make_store_dir(file)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_client_creates_its_store_dir_private(tmp_path: Path, no_umask: None) -> None:
    """The client's ``store_dir`` (made when a KalshiRT session is built) is 0700 too."""
    store_dir = tmp_path / "state" / "stores"
    client = blocking_adapter.FixClient(
        Credentials("key-1", new_ed25519_keys()[0]), store_dir=store_dir
    )
    session = client.order_entry(retransmission=True)
    for directory in (tmp_path / "state", store_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    session.config.store.close()  # type: ignore[union-attr]

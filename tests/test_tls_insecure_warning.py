"""A weak TLS context is never silent: `InsecureTLSWarning`, and a refusal off this machine.

* A program with no logging configured that opens a session with ``make_ssl_context(
  verify=False)`` prints the warning on stderr, located at its own line (a subprocess, Python's
  default warning filters); with the library's contexts (the mock gateway's pin, its
  certificate as ``cafile``) it prints nothing.
* With every adapter, end to end against the mock gateway over TLS on loopback: one warning per
  session open, at the caller's line (a reconnect within the open does not warn again); the
  library's own contexts warn nothing.
* A weak context to a host that is not loopback is refused when the session opens, before any
  connection, unless ``allow_insecure_tls=True``; then it connects (to the mock gateway,
  reached through a name that resolves to it) and still warns.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tls_helpers
from tls_helpers import ADAPTERS, CLIENTS, open_with

from kalshi_fix_sansio import Backoff, Reconnected
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.client import Endpoint, InsecureTLSWarning
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.gateway import MockGateway, mock_api_key

KEY_ID, SIGNER, PUBLIC_KEY = mock_api_key("prediction")
WEAKER = "the TLS context is weaker than the library's: certificate verification is off"


@pytest.fixture(scope="module")
def gateway() -> Iterator[MockGateway]:
    with MockGateway("prediction", keys={KEY_ID: PUBLIC_KEY}, tls=True) as gw:
        yield gw


# -- a program without logging: the warning on stderr ----------------------------------------

PROGRAM = """\
import sys

from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio.simulator.gateway import MockGateway, mock_api_key

key_id, signer, public_key = mock_api_key("prediction")
with MockGateway("prediction", keys={key_id: public_key}, tls=True) as gw:
    trust = {
        "weak": {"ssl_context": make_ssl_context(verify=False)},
        "pinned": {},  # the gateway's certificate, pinned by gw.client
        "cafile": {"cafile": str(gw.certificate)},
    }[sys.argv[1]]
    client = gw.client(key_id, signer, backoff=Backoff(attempts=2), **trust)
    with client.order_entry() as session:  # OPENED HERE
        print("logged on")
"""


def run_program(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run(
        [sys.executable, str(program), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_program_without_logging_shows_the_warning_on_stderr(tmp_path: Path) -> None:
    result = run_program(tmp_path, "weak")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "logged on\n"  # warned, not refused: the gateway is on loopback
    line = PROGRAM.splitlines().index("    with client.order_entry() as session:  # OPENED HERE")
    shown = re.fullmatch(
        rf"{re.escape(str(tmp_path / 'program.py'))}:{line + 1}: InsecureTLSWarning: "
        rf"tls://127\.0\.0\.1:\d+: {WEAKER} \(verify_mode CERT_NONE\); the host name is not "
        r"checked \(check_hostname False\); anyone on the path can read or alter this session, "
        r"including the signed Logon\n  with client\.order_entry\(\) as session:  # OPENED HERE\n",
        result.stderr,
    )
    assert shown, result.stderr


@pytest.mark.parametrize("mode", ["pinned", "cafile"])
def test_a_program_with_a_verified_context_shows_nothing(tmp_path: Path, mode: str) -> None:
    result = run_program(tmp_path, mode)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "logged on\n"
    assert result.stderr == ""


# -- every adapter: once per open, at the caller's line ---------------------------------------


def is_reconnected(event: object) -> bool:
    return isinstance(event, Reconnected)


def open_twice(adapter: str, session: Any, gateway: MockGateway) -> list[str]:
    """Open ``session``, make the gateway drop it and wait for the reconnect, close; open
    and close it again. Who the gateway saw logged on, at each open."""
    seen: list[str] = []

    def drop_and_reconnect(session: Any) -> Any:
        seen.extend(gateway.connected())
        assert gateway.disconnect(KEY_ID) == 1
        return session.wait_for(is_reconnected, 10)

    def again(session: Any) -> None:
        seen.extend(gateway.connected())

    assert open_with(adapter, session, drop_and_reconnect, again) is None
    return seen


TRUST: dict[str, Callable[[MockGateway], dict[str, Any]]] = {
    "verify=False": lambda gw: {"ssl_context": make_ssl_context(verify=False)},
    "pinned (gw.client's)": lambda gw: {},
    "cafile": lambda gw: {"cafile": str(gw.certificate)},
    "pinned_cert": lambda gw: {"pinned_cert": str(gw.certificate)},
}


@pytest.mark.parametrize("trust", sorted(TRUST))
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_weak_context_warns_once_per_open_and_a_verified_one_never(
    adapter: str, trust: str, gateway: MockGateway
) -> None:
    options = {"backoff": Backoff(base=0.05, cap=0.2, attempts=8, seed=7), **TRUST[trust](gateway)}
    client = gateway.client(KEY_ID, SIGNER, client_cls=CLIENTS[adapter], **options)
    session = client.order_entry()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = open_twice(adapter, session, gateway)
    assert seen == [KEY_ID, KEY_ID]
    insecure = [w for w in caught if issubclass(w.category, InsecureTLSWarning)]
    if trust != "verify=False":
        assert insecure == []
        return
    assert len(insecure) == 2, [str(w.message) for w in insecure]  # two opens, one reconnect
    for warning in insecure:
        assert str(warning.message).startswith(f"{gateway.endpoint('KalshiNR')}: {WEAKER}")
        assert warning.filename == tls_helpers.__file__  # the line that opened the session


# -- off this machine: refused unless allowed -----------------------------------------------


@pytest.fixture
def gateway_name(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``gateway.test`` resolves to 127.0.0.1 (where the mock gateway listens): a host the
    library cannot tell is loopback without resolving it. Returns the names asked for."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name != "gateway.test":
            return real(host, port, *args, **kwargs)
        asked.append(name)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_weak_context_off_this_machine_is_refused_unless_allowed(
    adapter: str, gateway: MockGateway, gateway_name: list[str]
) -> None:
    endpoint = Endpoint("gateway.test", gateway.ports["KalshiNR"], server_hostname="localhost")

    def session(**options: Any) -> Any:
        client = CLIENTS[adapter](
            gateway.client(KEY_ID, SIGNER).credentials,
            endpoints={"KalshiNR": endpoint},
            allow_unlisted_hosts=True,
            ssl_context=make_ssl_context(verify=False),
            backoff=Backoff(base=0.05, cap=0.2, attempts=3, seed=7),
            **options,
        )
        return client.order_entry()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refused = open_with(adapter, session())
    assert isinstance(refused, LocalProtocolError), refused
    assert str(refused).startswith(f"tls://gateway.test:{endpoint.port}: {WEAKER}")
    assert "pass allow_insecure_tls=True" in str(refused)
    assert gateway_name == [] and caught == []  # refused before resolving or connecting

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        allowed = session(allow_insecure_tls=True)
        assert "allow_insecure_tls=True" in repr(allowed.options)
        assert open_with(adapter, allowed) is None  # logged on
    assert gateway_name  # connected through the name
    insecure = [w for w in caught if issubclass(w.category, InsecureTLSWarning)]
    assert len(insecure) == 1 and insecure[0].filename == tls_helpers.__file__
    assert str(insecure[0].message).startswith(f"tls://gateway.test:{endpoint.port}: {WEAKER}")


def test_allow_insecure_tls_is_a_bool_and_shows_in_the_reprs(gateway: MockGateway) -> None:
    with pytest.raises(LocalProtocolError, match="allow_insecure_tls must be True or False"):
        gateway.client(KEY_ID, SIGNER, allow_insecure_tls="yes")
    client = gateway.client(KEY_ID, SIGNER, allow_insecure_tls=True)
    assert ", allow_insecure_tls=True, " in repr(client)
    assert "allow_insecure_tls" not in repr(gateway.client(KEY_ID, SIGNER))
    options = gateway.client(KEY_ID, SIGNER).profile("KalshiNR")[1]
    assert "allow_insecure_tls=False" in repr(options)


def test_the_warning_is_public_and_filterable() -> None:
    import kalshi_fix_sansio.adapters as adapters
    import kalshi_fix_sansio.client as client

    assert "InsecureTLSWarning" in client.__all__
    assert issubclass(InsecureTLSWarning, UserWarning)
    endpoint = Endpoint("127.0.0.1", 8228, server_hostname="localhost")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureTLSWarning)
        with pytest.raises(InsecureTLSWarning):
            adapters.ssl_context_for(endpoint, make_ssl_context(verify=False))

"""A pinned certificate is never dropped: every place a pin and a caller's TLS context can meet.

End to end over real TLS on loopback, with every adapter (blocking, asyncio, trio): the mock
gateway serves certificate A, the client is pinned to certificate B, and it must never log on.

* The client's options (`FixClient(...)`, ``from_key``, ``from_env``, and
  ``MockGateway.client``, which used to add its own pinning context beside the caller's
  ``pinned_cert``): ``pinned_cert=`` (or ``cafile=``) together with ``ssl_context=`` is refused
  when the client is built, naming both and saying what to do; nothing connects.
* A pin on its own, or inside the context (``make_ssl_context(pinned_cert=B)``), is checked in
  the handshake: `ConnectionFailed` at once, its ``last_error`` a `CertificateRefused` saying it
  is not the pinned certificate, and the gateway never sees a Logon.
* ``kalshi-fix logon-test --pinned-cert B`` (the CLI has no context option) fails the same way.
* Pinned to A, the same routes log on: the tests above can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tls_helpers import ADAPTERS, CLIENTS, open_with

from kalshi_fix_sansio import Backoff, ConnectionFailed
from kalshi_fix_sansio.adapters import CertificateRefused, make_ssl_context
from kalshi_fix_sansio.client import tls_settings
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.gateway import (
    MockGateway,
    mock_api_key,
    self_signed,
    write_mock_api_key,
)

KEY_ID, SIGNER, PUBLIC_KEY = mock_api_key("prediction")


class Site:
    """The mock gateway serving certificate A, certificate B, and the API key's file."""

    def __init__(self, gateway: MockGateway, other: Path, key_file: Path) -> None:
        self.gateway = gateway
        assert gateway.certificate is not None
        self.served = str(gateway.certificate)
        self.other = str(other)
        self.key_file = key_file

    def environ(self) -> dict[str, str]:
        return {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(self.key_file)}

    def options(self, **trust: Any) -> dict[str, Any]:
        return {
            "endpoints": self.gateway.endpoints,
            "backoff": Backoff(base=0.05, cap=0.2, attempts=3, seed=7),
            **trust,
        }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    other = self_signed(tmp_path_factory.mktemp("other"))[0]
    key_file = write_mock_api_key("prediction", tmp_path_factory.mktemp("key"))
    with MockGateway("prediction", keys={KEY_ID: PUBLIC_KEY}, tls=True) as gateway:
        yield Site(gateway, other, key_file)


# -- the ways of building a client ------------------------------------------------------------

Build = Callable[[str, Site, dict[str, Any]], Any]


def by_constructor(adapter: str, site: Site, trust: dict[str, Any]) -> Any:
    return CLIENTS[adapter](Credentials(KEY_ID, SIGNER), **site.options(**trust))


def by_from_key(adapter: str, site: Site, trust: dict[str, Any]) -> Any:
    return CLIENTS[adapter].from_key(KEY_ID, path=site.key_file, **site.options(**trust))


def by_from_env(adapter: str, site: Site, trust: dict[str, Any]) -> Any:
    return CLIENTS[adapter].from_env(environ=site.environ(), **site.options(**trust))


def by_gateway(adapter: str, site: Site, trust: dict[str, Any]) -> Any:
    backoff = Backoff(base=0.05, cap=0.2, attempts=3, seed=7)
    return site.gateway.client(
        KEY_ID, SIGNER, client_cls=CLIENTS[adapter], backoff=backoff, **trust
    )


BUILDS: dict[str, Build] = {
    "constructor": by_constructor,
    "from_key": by_from_key,
    "from_env": by_from_env,
    "gateway.client": by_gateway,
}


def log_on(
    adapter: str, client: Any, gateway: MockGateway
) -> tuple[BaseException | None, list[str]]:
    """Open and close a KalshiNR session: what opening raised, and who the gateway saw
    logged on while it was open."""
    seen: list[str] = []
    error = open_with(adapter, client.order_entry(), lambda _: seen.extend(gateway.connected()))
    return error, seen


def assert_not_the_pinned_certificate(error: BaseException | None) -> None:
    assert isinstance(error, ConnectionFailed), error
    assert error.attempts == 1  # final: the same certificate would be refused again
    assert isinstance(error.last_error, CertificateRefused), error.last_error
    assert "it is not the pinned certificate (pinned_cert)" in str(error.last_error)


# -- a pin beside a caller's context: refused when the client is built -----------------------


@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_pin_beside_a_context_is_refused_when_the_client_is_built(
    adapter: str, build: str, site: Site
) -> None:
    # the context trusts A (the gateway): before, the pin on B was dropped and A logged on
    trusting_a = make_ssl_context(pinned_cert=site.served)
    with pytest.raises(LocalProtocolError) as refused:
        BUILDS[build](adapter, site, {"ssl_context": trusting_a, "pinned_cert": site.other})
    message = str(refused.value)
    assert message.startswith("pass ssl_context or pinned_cert, not both: ")
    assert "the pin would be ignored" in message
    assert "make_ssl_context(pinned_cert=...)" in message
    assert site.gateway.connected() == []


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_a_ca_file_beside_a_context_is_refused_too(build: str, site: Site) -> None:
    with pytest.raises(LocalProtocolError, match=r"^pass ssl_context or cafile, not both: ") as e:
        BUILDS[build]("blocking", site, {"ssl_context": make_ssl_context(), "cafile": site.other})
    assert "the CA file would be ignored" in str(e.value)
    assert "make_ssl_context(cafile=...)" in str(e.value)


def test_explicit_nones_beside_a_context_are_not_a_conflict(site: Site) -> None:
    client = by_constructor(
        "blocking", site, {"ssl_context": make_ssl_context(), "pinned_cert": None, "cafile": None}
    )
    assert client.profile("KalshiNR")[1].ssl_context is not None


def test_a_pin_is_data_in_the_options_read_when_the_session_is_made(
    site: Site, tmp_path: Path
) -> None:
    """The client floor loads no ssl: the session's options carry the pin as PEM text
    (`TLSSettings`), read and checked when the session is made; its pump builds the context
    when it opens."""
    options = by_constructor("blocking", site, {"pinned_cert": site.other}).profile("KalshiNR")[1]
    assert options.ssl_context is None
    assert options.tls == tls_settings(pinned_cert=site.other)
    assert options.tls.pinned is not None and options.tls.pinned.startswith("-----BEGIN CERT")
    assert options.tls.cadata is None and options.tls.verify
    gone = by_constructor("blocking", site, {"pinned_cert": str(tmp_path / "gone.pem")})
    with pytest.raises(LocalProtocolError, match="pinned certificate file not found: "):
        gone.session("KalshiNR")  # refused when made, before any open
    assert site.gateway.connected() == []


# -- a pin on its own, or inside the context: checked in the handshake ------------------------


PINNED_TO_B: dict[str, Callable[[Site], dict[str, Any]]] = {
    "pinned_cert": lambda site: {"pinned_cert": site.other},
    "context pinned": lambda site: {"ssl_context": make_ssl_context(pinned_cert=site.other)},
}


@pytest.mark.parametrize("how", sorted(PINNED_TO_B))
@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_client_pinned_to_another_certificate_never_logs_on(
    adapter: str, build: str, how: str, site: Site
) -> None:
    client = BUILDS[build](adapter, site, PINNED_TO_B[how](site))
    error, seen = log_on(adapter, client, site.gateway)
    assert_not_the_pinned_certificate(error)
    assert seen == [] and site.gateway.connected() == []


@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_pinned_to_the_served_certificate_the_same_routes_log_on(
    adapter: str, build: str, site: Site
) -> None:
    client = BUILDS[build](adapter, site, {"pinned_cert": site.served})
    error, seen = log_on(adapter, client, site.gateway)
    assert error is None
    assert seen == [KEY_ID]


# -- the command line: --pinned-cert is its only trust option ---------------------------------


def test_the_cli_pinned_to_another_certificate_never_logs_on(site: Site) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    env.update(site.environ())
    port = site.gateway.ports["KalshiNR"]
    result = subprocess.run(
        [
            *(sys.executable, "-m", "kalshi_fix_sansio.cli", "logon-test"),
            *("--endpoint", f"127.0.0.1:{port}", "--pinned-cert", site.other),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "logged on" not in result.stdout
    assert "is not the one --pinned-cert names" in result.stderr
    assert "Traceback" not in result.stderr
    assert site.gateway.connected() == []

"""docs/guide-mock-gateway-process.md: the page's command starts a real ``kalshi-fix
mock-gateway`` process; its banner is the page's banner (paths and ports aside); the page's code
blocks, with the values the page copied from its banner replaced by the ones this gateway
printed, run against it: blocking, asyncio and trio."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_process import Banner, Running, gateway_process

from kalshi_fix_sansio.codec.errors import LocalProtocolError

PAGE = Path(__file__).resolve().parent.parent / "docs" / "guide-mock-gateway-process.md"
CLI = [sys.executable, "-m", "kalshi_fix_sansio.cli"]
MARKER = "<!-- tested-by: tests/test_guide_mock_gateway_process.py -->"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.S | re.M)


def python_blocks() -> list[str]:
    """The page's ```python blocks; each is marked as run by this test."""
    text = PAGE.read_text(encoding="utf-8")
    found = re.findall(r"(<!--[^\n]*-->)?\n```python\n(.*?)^```", text, re.S | re.M)
    assert found and all(marker == MARKER for marker, _ in found)
    return [code for _, code in found]


@pytest.fixture(scope="module")
def gateway() -> Iterator[Running]:
    (console,) = blocks("console")
    command = shlex.split(console.strip().removeprefix("$ "))
    assert command[:2] == ["kalshi-fix", "mock-gateway"]
    with gateway_process([*CLI, *command[1:]]) as running:
        yield running


def page_banner() -> Banner:
    text = next(b for b in blocks("text") if b.startswith("mock Kalshi gateway"))
    return Banner.parse(text.splitlines())


def with_banner(code: str, real: Banner) -> str:
    """A block of the page with the values of the page's banner replaced by the real ones."""
    page = page_banner()
    code = code.replace(f'"{page.key_id}"', f'"{real.key_id}"')
    return page.same_values(code, real)


def run_block(code: str, namespace: dict[str, Any]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(PAGE), "exec"), namespace)
    return out.getvalue()


def test_the_page_shows_the_banner_the_gateway_prints(gateway: Running) -> None:
    assert page_banner().shape() == gateway.banner.shape()
    page = page_banner()
    assert page.ports["KalshiNR"] == "18228"  # the default --port-base, as the page says
    settings = python_blocks()[0]
    for value in (page.certificate, page.private_key, page.key_id):
        assert value in settings  # every value the settings block takes is in the banner
    for session in ("KalshiNR", "KalshiMD"):
        assert f'"{session}": Endpoint("127.0.0.1", {page.ports[session]})' in settings


@pytest.fixture(scope="module")
def settings(gateway: Running) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "guide_mock_gateway_process"}
    run_block(with_banner(python_blocks()[0], gateway.banner), namespace)
    assert namespace["ENDPOINTS"]["KalshiNR"].port == int(gateway.banner.ports["KalshiNR"])
    return namespace


def _printed_as_commented(code: str, printed: str) -> None:
    """Each print of the block printed what its comment says."""
    expected = [m.strip() for m in re.findall(r"^\s*print\(.*?\)\s*#(.*)$", code, re.M)]
    assert [line.strip() for line in printed.splitlines()] == expected


@pytest.mark.parametrize("number", [1, 2, 3], ids=["blocking", "asyncio", "trio"])
def test_each_adapter_block_runs_against_the_process(
    gateway: Running, settings: dict[str, Any], number: int
) -> None:
    code = with_banner(python_blocks()[number], gateway.banner)
    printed = run_block(code, dict(settings))
    _printed_as_commented(code, printed)


def test_a_session_type_left_out_of_endpoints_is_refused_as_the_page_says(
    gateway: Running, settings: dict[str, Any]
) -> None:
    from kalshi_fix_sansio.adapters.blocking import FixClient

    only_nr = {"KalshiNR": settings["ENDPOINTS"]["KalshiNR"]}
    client = FixClient.from_key(
        settings["KEY_ID"],
        path=settings["PRIVATE_KEY"],
        endpoints=only_nr,
        pinned_cert=settings["CERTIFICATE"],
    )
    with pytest.raises(LocalProtocolError) as caught:
        client.market_data()
    (shown,) = [b for b in blocks("text") if b.startswith("LocalProtocolError: ")]
    expected = shown.strip().removeprefix("LocalProtocolError: ")
    assert str(caught.value) == with_banner(expected, gateway.banner)

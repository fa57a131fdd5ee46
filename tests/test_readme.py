"""The README's examples: the first order runs (tests/test_docs_code.py runs every block); the
live example compiles and names real API; the comparison with the other clients is a table; the
shell lines run as written from the checkout (``.venv/bin/kalshi-fix``, the venv not activated)
against a real ``kalshi-fix mock-gateway`` process, and are the lines its banner prints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from gateway_process import Banner, gateway_process

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
LIVE = next(b for b in BLOCKS if 'FixClient.from_env("demo")' in b)


def test_live_example_uses_real_api() -> None:
    code = compile(LIVE, "README.md", "exec")
    assert "FixClient" in code.co_names
    from kalshi_fix_sansio import prediction
    from kalshi_fix_sansio.adapters.blocking import FixClient

    assert callable(FixClient.from_env) and callable(FixClient.market_data)
    for name in ("MarketDataRequest", "SubscriptionRequestType", "MarketDataRequestRelatedSym"):
        assert hasattr(prediction, name)
    assert "(Not run in CI: there is no internet there." in README
    assert "bash scripts/demo" in README and "bash scripts/test" in README


def test_the_first_screens_show_limits_a_kill_switch_and_metrics() -> None:
    first = BLOCKS[0]  # the first code a reader meets
    assert "RiskLimits(" in first and "kill_all(" in first and "metrics.snapshot()" in first
    assert README.index("A first order with limits") < README.index("## Install")


def test_it_says_why_beside_the_other_clients() -> None:
    why = README.split("## Why this one", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in why.splitlines() if line.startswith("|")]
    assert rows[0].split("|")[2:5] == [" kalshi-fix-sansio ", " kalshi-sdk 22.4.0 ", " QuickFIX "]
    assert all(line.count("|") == 5 for line in rows) and len(rows) <= 12
    assert README.index("## Why this one") < README.index("A first order with limits")


# -- the shell route: `kalshi-fix mock-gateway` in one terminal, its order / cancel lines in
# another, run as the README writes them from the checkout after `bash scripts/demo`

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
FIRST_ORDER = README.split("## A first order with limits", 1)[1].split("\n## ", 1)[0]
CONSOLE = re.findall(r"(<!-- [^\n]* -->\n)?```console\n(.*?)```", FIRST_ORDER, re.S)
LIMIT = " --max-qty 5"  # what the README adds to the banner's order line


def shell(activated: bool) -> dict[str, str]:
    """The environment of a shell in the checkout after ``bash scripts/demo``: its venv not
    activated (``.venv/bin`` not on PATH), or activated; no Kalshi key set."""
    path = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not (Path(p).is_dir() and Path(p).samefile(VENV_BIN))
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    env["PATH"] = os.pathsep.join([str(VENV_BIN), *path] if activated else path)
    return env


def pasted() -> list[tuple[str, str]]:
    """The README's second-terminal block: (command line, what it prints)."""
    (block,) = [text for marker, text in CONSOLE if "$ " in text]
    steps = re.findall(r"^\$ (.+)\n(.+)$", block, re.M)
    assert len(steps) == 2 and block.count("\n$ ") == 1, block
    return steps


def run(line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_shell_lines_are_the_mock_route_then_kalshis_demo_marked_not_run() -> None:
    assert [marker for marker, _ in CONSOLE] == ["", "", "<!-- needs: kalshi -->\n"]
    start, _, demo = (text for _, text in CONSOLE)
    assert start == ".venv/bin/kalshi-fix mock-gateway --market KXHIGHNY-26NOV23-T50\n"
    lines = demo.splitlines()
    assert [ln.split()[:3] for ln in lines] == [
        [".venv/bin/kalshi-fix", "order", "--env"],
        [".venv/bin/kalshi-fix", "cancel", "--env"],
    ]
    (order, _), (cancel, _) = pasted()
    assert " .venv/bin/kalshi-fix order " in order and order.endswith(LIMIT)
    assert " .venv/bin/kalshi-fix cancel " in cancel
    assert "(after `source .venv/bin/activate` it is plain `kalshi-fix`)" in " ".join(
        FIRST_ORDER.split()
    )


def test_the_readme_shell_lines_run_as_written_against_the_mock_gateway() -> None:
    assert (VENV_BIN / "kalshi-fix").is_file(), "no .venv/bin/kalshi-fix: run bash scripts/setup"
    start = shlex.split(CONSOLE[0][1])
    env = shell(activated=False)
    (order, ordered), (cancel, canceled) = pasted()
    values = re.match(
        r"KALSHI_KEY_ID=(\S+) KALSHI_PRIVATE_KEY_PATH=(\S+) .* --pinned-cert (\S+)", order
    )
    assert values is not None, order
    key_id, private_key, certificate = values.groups()
    port = re.search(r"--endpoint 127\.0\.0\.1:(\d+) ", order)
    assert port is not None and port[1] == "18228", order  # the default --port-base
    # the values the README copied from a banner, as a banner of their own
    readme = Banner([], {"KalshiNR": port[1]}, certificate, key_id, private_key)
    with gateway_process(start, cwd=ROOT, env=env) as gateway:
        banner = gateway.banner
        # the README's lines are the banner's (its order line with the limit added)
        assert readme.blank(order.removesuffix(LIMIT)) == banner.blank(banner.command("order"))
        assert readme.blank(cancel) == banner.blank(banner.command("cancel"))
        placed = run(readme.same_values(order, banner), env)
        assert placed.returncode == 0 and not placed.stderr, placed.stderr
        assert placed.stdout == ordered + "\n"
        taken_off = run(readme.same_values(cancel, banner), env)
        assert taken_off.returncode == 0 and not taken_off.stderr, taken_off.stderr
        assert taken_off.stdout == canceled + "\n"
        refused = run(readme.same_values(order, banner).replace("--qty 1", "--qty 6"), env)
        assert refused.returncode == 1, refused.stderr
        assert "kalshi-fix order: refused before sending (--max-qty)" in refused.stderr


def test_with_the_venv_activated_the_banner_says_plain_kalshi_fix() -> None:
    env = shell(activated=True)
    with gateway_process(shlex.split(CONSOLE[0][1]), cwd=ROOT, env=env) as gateway:
        order = gateway.banner.command("order")
        assert " kalshi-fix order " in order and ".venv/bin" not in order
        placed = run(order, env)
        assert placed.returncode == 0, placed.stderr
        assert placed.stdout.startswith("order-1: OrdStatus=0 (New)  OrderID ")


# -- the first screen: the five things the library does, each one command from a checkout and
# the page that says more; then the research section's walk-forward

WHAT = README.split("## What it does\n", 1)[1].split("\n## ", 1)[0]
THINGS = re.findall(r"^\d\. \*\*(.+?)\*\*(.*?)(?=^\d\. |\Z)", WHAT, re.S | re.M)
RESEARCH = README.split("## Research: from a backtest to a walk-forward\n", 1)[1]
RESEARCH = RESEARCH.split("\n## ", 1)[0]
PAPER_TRADING = (  # the command tests/test_examples.py runs (on a copy of the sample)
    ".venv/bin/python examples/asyncio_market_maker.py --replay paper-sample.log"
    " --as-fast-as-possible --seconds 5"
)


def console_blocks(text: str) -> list[str]:
    """The ```console blocks of ``text``, a list item's indentation taken off."""
    blocks = re.findall(r"^( *)```console\n(.*?)^ *```", text, re.S | re.M)
    return [textwrap.dedent(indent + body) for indent, body in blocks]


def test_the_first_section_names_five_things_each_with_one_command_and_its_page() -> None:
    assert README.index("## What it does") == README.index("\n## ") + 1  # the first section
    assert len(THINGS) == 5, [title for title, _ in THINGS]
    commands = []
    for title, body in THINGS:
        (block,) = console_blocks(body)
        assert block.count("\n") == 1, f"{title}: one command"
        commands.append(block.strip())
        pages = re.findall(r"\]\((docs/[^)#]+\.md)(?:#[^)]*)?\)", body)
        assert pages and all((ROOT / page).is_file() for page in pages), title
    assert commands[0] == "bash scripts/demo"
    assert commands[1] == PAPER_TRADING
    assert [c.split()[:2] for c in commands[2:]] == [[".venv/bin/kalshi-fix", "backtest"]] * 2 + [
        [".venv/bin/kalshi-fix", "simulate"]
    ]
    assert "--tearsheet" in commands[2] and "--grid" in commands[3]
    for command in ("fit-latency", "fit-queue", "compare-live", "markets"):
        assert f"`{command}`" in WHAT or f"`kalshi-fix {command}`" in WHAT, command


def test_the_first_section_and_the_walk_forward_run_as_written(tmp_path: Path) -> None:
    """Each command of the first section (the demo and the paper-trading example aside: their
    own tests run them) and the research section's walk-forward, in a fresh directory with the
    checkout's ``.venv/bin`` (here: this interpreter's)."""
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "kalshi-fix").is_file(), f"no kalshi-fix beside {sys.executable}"
    blocks = [b for _, body in THINGS for b in console_blocks(body)][2:]
    (walk,) = console_blocks(RESEARCH)
    for block in [*blocks, walk]:
        done = subprocess.run(
            ["bash", "-c", block.replace(".venv/bin/", f"{venv_bin}/")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, block + done.stdout + done.stderr
    for written in ("backtest.html", "sweep.html", "walk-forward.html", "walk-forward.json"):
        assert (tmp_path / written).is_file(), written
    (printed,) = re.findall(r"```text\n(.*?)```", RESEARCH, re.S)
    assert printed in done.stdout, done.stdout

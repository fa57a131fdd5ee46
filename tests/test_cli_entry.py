"""The ``kalshi-fix`` entry point: what it loads before a command runs, Ctrl-C at any moment,
and the exit statuses every command's ``--help`` states."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys

import pytest

from kalshi_fix_sansio.cli import build_parser, main
from kalshi_fix_sansio.cli.commands import COMMANDS

HEAVY = (
    "cryptography",
    "ssl",
    "asyncio",
    "kalshi_fix_sansio.codec",
    "kalshi_fix_sansio.simulator",
    "kalshi_fix_sansio.adapters",
    "kalshi_fix_sansio.client",
    "kalshi_fix_sansio.observability",
)


def _loaded_by(*words: str) -> set[str]:
    """The modules a fresh interpreter holds after ``kalshi-fix WORDS`` (in-process: main)."""
    probe = (
        "import contextlib, io, json, sys\n"
        "from kalshi_fix_sansio.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    status = main({list(words)!r})\n"
        "print(json.dumps([status, sorted(sys.modules)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    status, modules = json.loads(result.stdout.splitlines()[-1])
    assert status == 0, result.stderr
    return set(modules)


@pytest.mark.parametrize("words", [("--version",), ("--help",)])
def test_version_and_help_load_no_command(words: tuple[str, ...]) -> None:
    loaded = _loaded_by(*words)
    ours = {m for m in loaded if m.startswith("kalshi_fix_sansio")}
    assert ours == {"kalshi_fix_sansio", "kalshi_fix_sansio.cli", "kalshi_fix_sansio.cli.commands"}
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_a_command_loads_its_own_modules_only() -> None:
    loaded = _loaded_by("markets", "--help")
    assert "kalshi_fix_sansio.cli.markets" in loaded
    others = {f"kalshi_fix_sansio.cli.{c.module}" for c in COMMANDS.values()} - {
        "kalshi_fix_sansio.cli.markets",
        "kalshi_fix_sansio.cli.commands",
    }
    assert not loaded & others, loaded & others
    assert not {m for m in loaded if m.startswith(("kalshi_fix_sansio.simulator", "asyncio"))}


# A SIGINT sent by the child to itself when it starts importing MODULE: delivered at once, it
# interrupts the import there (as a Ctrl-C while `kalshi-fix` loads), with no wait or sleep.
_INTERRUPTED_WHILE_IMPORTING = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Interrupt())
sys.argv = ["kalshi-fix", *{words!r}]
from kalshi_fix_sansio.cli import main
sys.exit(main())
"""


INTERRUPTED = "kalshi-fix: interrupted (Ctrl-C)\n"


@pytest.mark.parametrize(
    ("module", "words", "line"),
    [
        # the parser, the command's own module, what it loads as it runs (the gateway: the
        # command's own line, as for a Ctrl-C while it makes its key and certificate)
        ("kalshi_fix_sansio.cli.commands", ["mock-gateway"], INTERRUPTED),
        ("kalshi_fix_sansio.cli.mock_gateway", ["mock-gateway", "--help"], INTERRUPTED),
        (
            "kalshi_fix_sansio.simulator.gateway",
            ["mock-gateway", "--plain", "--seconds", "1"],
            "kalshi-fix mock-gateway: SIGINT: stopped before serving; nothing was served\n",
        ),
        ("kalshi_fix_sansio.cli.decode", ["decode", "--json", "-"], INTERRUPTED),
        ("kalshi_fix_sansio.codec._generated.prediction", ["decode", "-"], INTERRUPTED),
    ],
)
def test_ctrl_c_at_any_moment_is_one_line_and_130(module: str, words: list[str], line: str) -> None:
    code = _INTERRUPTED_WHILE_IMPORTING.format(module=module, words=words)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 128 + signal.SIGINT, result.stderr
    assert result.stderr == line
    assert result.stdout == ""


def test_every_command_help_states_its_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert main([name, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "exit status: 0 " in text and ", 2 usage error" in text, name


def test_the_listing_is_the_same_whether_the_commands_are_loaded_or_not() -> None:
    assert build_parser([]).format_help() == build_parser().format_help()
    listing = build_parser([]).format_help()
    for name, command in COMMANDS.items():
        assert name in listing and " ".join(command.help.split()[:4]) in " ".join(listing.split())


def test_a_bug_in_a_command_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from kalshi_fix_sansio.cli import halt

    def broken(*_args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(halt, "rearm_command", broken)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["rearm", "--key-id", "k"]) == 1
    assert err.getvalue() == (
        "kalshi-fix rearm: internal error (RuntimeError: boom); please report it\n"
    )

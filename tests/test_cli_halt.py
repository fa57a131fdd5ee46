"""A kill from the shell halts the API key's other processes on this machine until re-armed.

`kalshi-fix kill` writes the key's halt file before it cancels and counts what it took off;
`kalshi-fix order` refuses while the file is there; a session of the key already running
notices it within its poll interval, cancels its own orders and refuses new ones;
`kalshi-fix rearm` removes it. Against a real mock gateway over TLS, the commands run as
processes of their own (each test has its own ``XDG_STATE_HOME``: tests/conftest.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_cli_kill import SYMBOL, Live, live, rest  # noqa: F401  (the fixture)

from kalshi_fix_sansio import TradingHalted
from kalshi_fix_sansio.trading.haltfile import HaltFile, HaltRecord
from kalshi_fix_sansio.trading.killswitch import KillFinished, OutsideHalt
from kalshi_fix_sansio.trading.tracker import OrderStatus


def halt(halt_file: HaltFile) -> HaltRecord:
    """Halt the key as ``kalshi-fix kill`` does: now, from this machine."""
    return halt_file.halt(at=datetime.now(timezone.utc), host=socket.gethostname())


def cli(h: Live, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kalshi_fix_sansio.cli", *args],
        env=env if env is not None else h.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def endpoint(h: Live, session: str = "KalshiNR") -> list[str]:
    return [
        "--endpoint",
        f"127.0.0.1:{h.gateway.ports[session]}",
        "--pinned-cert",
        str(h.cert),
    ]


def order_args(h: Live) -> list[str]:
    """``kalshi-fix order`` of one contract at the gateway of ``h``."""
    flags = ("--symbol", SYMBOL, "--side", "buy", "--qty", "1", "--price", "0.41")
    return ["order", *endpoint(h), *flags]


def test_kill_counts_what_it_cancelled_of_another_session_of_the_key(
    live: Live,  # noqa: F811
) -> None:
    with live.client(halt_file=False).session("KalshiNR") as trading:
        trading.place(rest("left-1"))
        trading.place(rest("left-2"))
    assert live.open_orders() == ["left-1", "left-2"]  # logged out without 8013: still resting
    result = live.kill()  # a fresh process: its tracker knows neither order
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 open order(s) known" in result.stdout
    assert "KalshiNR: cancelled 2 order(s); 0 already gone; 0 still open" in result.stdout
    assert "left-1: CANCELED" in result.stdout and "left-2: CANCELED" in result.stdout
    assert live.open_orders() == []


def test_a_kill_from_the_shell_halts_a_running_session_of_the_key_until_rearm(
    live: Live,  # noqa: F811
) -> None:
    trading_client = live.client(halt_file=HaltFile("cli-key", interval=0.2))
    with trading_client.session("KalshiRT") as trading:
        trading.place(rest("run-1"))
        assert not trading.halted
        # the mock gateway takes one connection per key: the kill's own Logon is refused while
        # this session holds it; its halt file reaches this session all the same
        result = live.kill("--session", "RT", session="KalshiRT")
        assert result.returncode == 1 and "already exists" in result.stderr, result.stderr
        assert "halted key cli-key on this machine" in result.stdout
        halt = trading.wait_for(lambda e: isinstance(e, OutsideHalt), 5)
        assert halt.reason.startswith("a kill from the shell at ")
        assert "(pid " in halt.reason and trading.halted and trading_client.halted
        finished = trading.wait_for(lambda e: isinstance(e, KillFinished), 10)
        assert finished.report.done and ("run-1", OrderStatus.CANCELED) in finished.report.canceled
        assert live.open_orders() == []
        with pytest.raises(
            TradingHalted, match="trading is halted by a kill from the shell at "
        ) as caught:
            trading.place(rest("run-2"))
        assert caught.value.reason == halt.reason and "kalshi-fix rearm" in str(caught.value)
        trading.rearm()  # the process's own rearm does not lift a halt from the shell
        assert trading.halted
        assert cli(live, "rearm").returncode == 0
        lifted = trading.wait_for(lambda e: isinstance(e, OutsideHalt), 5)
        assert lifted.reason is None and not trading.halted
        trading.place(rest("run-3"))
        assert live.open_orders() == ["run-3"]
        trading.cancel(trading.tracker.order("run-3"))


def test_order_is_refused_while_the_key_is_halted_and_trades_after_rearm(
    live: Live,  # noqa: F811
) -> None:
    args = order_args(live)
    record = halt(HaltFile("cli-key"))  # as kalshi-fix kill does
    for extra in ([], ["--dry-run"]):
        refused = cli(live, *args, *extra)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert refused.stderr.startswith("kalshi-fix order: refused, nothing was sent: key cli-key")
        assert record.reason in refused.stderr and "kalshi-fix rearm" in refused.stderr
    assert live.open_orders() == []
    rearmed = cli(live, "rearm")
    assert rearmed.returncode == 0 and "re-armed key cli-key" in rearmed.stdout
    assert record.reason in rearmed.stdout
    placed = cli(live, *args, "--cl-ord-id", "after-1")
    assert placed.returncode == 0, placed.stderr
    assert live.open_orders() == ["after-1"]


def test_a_halt_file_that_cannot_be_read_refuses_too(
    live: Live,  # noqa: F811
) -> None:
    halt_file = HaltFile("cli-key")
    halt_file.directory.mkdir(parents=True)
    halt_file.path.write_text("not json")
    refused = cli(live, *order_args(live))
    assert refused.returncode == 1 and "cannot be read" in refused.stderr, refused.stderr
    assert cli(live, "rearm").returncode == 0 and not halt_file.path.exists()


def test_rearm_names_the_key_and_what_it_did(
    live: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in live.env.items() if not k.startswith("KALSHI_")}
    missing = cli(live, "rearm", env=env)
    assert (
        missing.returncode == 2
        and "--key-id" in missing.stderr
        and "KALSHI_KEY_ID" in missing.stderr
    )
    margin = cli(live, "rearm", "--product", "margin", env=env)
    assert margin.returncode == 2 and "KALSHI_PERPS_KEY_ID" in margin.stderr
    calm = cli(live, "rearm", "--key-id", "k-9", env=env)
    assert calm.returncode == 0 and "key k-9 was not halted" in calm.stdout
    elsewhere = tmp_path / "desk-halts"
    halt(HaltFile("k-9", elsewhere))
    assert cli(live, "rearm", "--key-id", "k-9", env=env).stdout.startswith("key k-9 was not")
    done = cli(live, "rearm", "--key-id", "k-9", "--halt-dir", str(elsewhere), env=env)
    assert done.returncode == 0 and "re-armed key k-9" in done.stdout
    assert not HaltFile("k-9", elsewhere).path.exists()


def test_kill_halts_in_the_halt_dir_given_and_no_halt_writes_none(
    live: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    desk = tmp_path / "desk-halts"
    result = live.kill("--halt-dir", str(desk))
    assert result.returncode == 0, result.stderr
    assert HaltFile("cli-key", desk).read() is not None
    assert HaltFile("cli-key").read() is None  # only where it was told
    quiet = live.kill("--no-halt")
    assert quiet.returncode == 0 and "halted key" not in quiet.stdout
    assert HaltFile("cli-key").read() is None


def test_kill_says_when_the_halt_file_cannot_be_written(
    live: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = live.kill("--halt-dir", str(blocker / "halts"))
    assert result.returncode == 1  # the cancel still ran
    assert "cannot write the halt file" in result.stderr and "NOT halted" in result.stderr
    assert "confirmed by the exchange" in result.stdout


def test_rearm_refuses_a_halt_directory_every_user_may_write_and_warns_of_a_group_one(
    tmp_path: Path,
) -> None:
    """No gateway: ``rearm`` only looks at the halt directory."""
    desk = tmp_path / "desk-halts"
    halt(HaltFile("k-7", desk))

    command = [sys.executable, "-m", "kalshi_fix_sansio.cli", "rearm", "--key-id", "k-7"]

    def rearm() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "--halt-dir", str(desk)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    desk.chmod(0o777)
    refused = rearm()
    assert refused.returncode == 1, refused.stderr
    assert "writable by every user" in refused.stderr and "nothing removed" in refused.stderr
    assert HaltFile("k-7", desk).path.exists()
    desk.chmod(0o770)
    done = rearm()
    assert done.returncode == 0 and "re-armed key k-7" in done.stdout, done.stderr
    assert done.stderr.startswith("kalshi-fix rearm: ") and not HaltFile("k-7", desk).path.exists()

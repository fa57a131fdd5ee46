"""The halt from outside the process: the `HaltFile` on disk and the driver that asks it.

Sans-IO first: a `Driver` with a `HaltSource` asks it at start and then only on its timer, every
``interval`` seconds (never per order); an answer becomes its outside halt (`TradingHalted`,
an `OutsideHalt` event; ``rearm()`` does not lift it), a halt that begins while it runs starts a
kill of its orders; a failing source halts. Then the file itself (where, modes, atomic,
fail-closed), and per adapter against the mock gateway over TLS: a session opened while halted
refuses orders, a running one notices within its interval and cancels, removing the file lifts.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_driver import Harness
from test_kill_switch import gateway_open, limit, open_at_gateway, place, sent_types

from kalshi_fix_sansio import TradingHalted
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.trading.haltfile import (
    DEFAULT_HALT_POLL,
    HaltFile,
    HaltRecord,
    default_halt_dir,
)
from kalshi_fix_sansio.trading.killswitch import KillFinished, KillStarted, OutsideHalt
from kalshi_fix_sansio.trading.tracker import OrderStatus

AT = datetime(2026, 11, 27, 3, 30, 15, tzinfo=timezone.utc)
WHEN: dict[str, Any] = {"at": AT, "host": "desk-7"}
"""When and where a halt is written: the caller's (kalshi-fix kill passes the clock and
socket.gethostname())."""


class Source:
    """A `HaltSource` the test sets, counting how often it is asked."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.reason: str | None = None
        self.asked: list[float] = []
        self.error: Exception | None = None

    def poll(self, now: float) -> str | None:
        self.asked.append(now)
        if self.error is not None:
            raise self.error
        return self.reason


def halts(h: Harness) -> list[OutsideHalt]:
    return [e for e in h.read() if isinstance(e, OutsideHalt)]


# -- sans-IO: the driver asks its source on its timer ------------------------------------------


def test_the_source_is_asked_at_start_and_on_the_timer_never_per_order() -> None:
    source = Source(interval=1.0)
    h = Harness(halt_source=source)
    h.start()
    assert source.asked == [h.now]  # at start, before the first connection
    for n in range(40):
        place(h, f"o-{n}")  # each order sent and acknowledged: no look at the source
    assert source.asked == [h.now]
    deadline = h.driver.next_deadline()
    assert deadline is not None and deadline <= source.asked[0] + 1.0
    h.advance(1.0)
    assert len(source.asked) == 2 and source.asked[1] == h.now
    h.advance(0.5)
    assert len(source.asked) == 2  # not due yet
    h.advance(0.5)
    assert len(source.asked) == 3


def test_a_driver_opened_while_halted_refuses_orders_from_the_start_without_a_kill() -> None:
    source = Source()
    source.reason = "a kill from the shell at 2026-01-01T00:00:00Z by ops (pid 7 on desk)"
    h = Harness(halt_source=source)
    h.start()
    assert h.driver.gate.halted == source.reason
    with pytest.raises(TradingHalted) as caught:
        h.driver.send(h.order("o-1", "buy", 1), h.now)
    assert caught.value.reason == source.reason
    assert "rearm() does not lift it" in str(caught.value) and "kalshi-fix rearm" in str(
        caught.value
    )
    events = h.read()
    assert [e.reason for e in events if isinstance(e, OutsideHalt)] == [source.reason]
    assert not any(isinstance(e, KillStarted) for e in events)  # nothing of its own to cancel
    h.driver.gate.rearm()
    assert h.driver.gate.halted == source.reason  # rearm() does not lift a halt from outside
    assert h.driver.tracker.order("o-1") is None and gateway_open(h) == []


def test_a_halt_noticed_while_running_cancels_the_sessions_orders_and_lifts_with_the_source() -> (
    None
):
    source = Source(interval=0.5)
    h = Harness(halt_source=source)
    h.start()
    place(h, "o-1")
    place(h, "o-2")
    source.reason = "a kill from the shell at 2026-01-01T00:00:00Z by ops (pid 7 on desk)"
    h.advance(0.5)  # the next look
    events = h.read()
    assert [e.reason for e in events if isinstance(e, OutsideHalt)] == [source.reason]
    (started,) = [e for e in events if isinstance(e, KillStarted)]
    assert sorted(started.open_orders) == ["o-1", "o-2"] and started.halted
    (finished,) = [e for e in events if isinstance(e, KillFinished)]
    assert finished.report.done and gateway_open(h) == []
    assert finished.report.halt_reason == source.reason
    assert "new orders refused: a kill from the shell" in str(finished.report)
    assert sent_types(h) == ["q"]
    with pytest.raises(TradingHalted):
        h.driver.send(h.order("o-3", "buy", 1), h.now)
    h.advance(0.5)
    assert halts(h) == []  # the same answer: no new event, no second kill
    source.reason = None
    h.advance(0.5)
    (lifted,) = halts(h)
    assert lifted.reason is None and not lifted.halted and h.driver.gate.halted is None
    assert h.driver.gate.own_halt.reason is None  # the kill did not halt on its own
    place(h, "o-3")
    assert gateway_open(h) == ["o-3"]


def test_a_source_that_fails_halts_and_the_session_runs_on() -> None:
    source = Source(interval=0.5)
    h = Harness(halt_source=source)
    h.start()
    source.error = OSError("disk gone")
    h.advance(0.5)
    assert h.driver.gate.halted is not None and "halt source failed" in h.driver.gate.halted
    assert "disk gone" in h.driver.gate.halted
    assert h.driver.supervisor.state.value == "active"
    source.error = None
    h.advance(0.5)
    assert h.driver.gate.halted is None


def test_a_halt_source_needs_an_interval_in_seconds() -> None:
    for bad in (0, -1.0, float("inf"), True, "1"):
        source = Source()
        source.interval = bad  # type: ignore[assignment]
        with pytest.raises(LocalProtocolError, match=r"halt_source\.interval must be seconds"):
            Harness(halt_source=source)


# -- the file ------------------------------------------------------------------------------


def test_the_default_directory_follows_xdg_state_home(tmp_path: Path) -> None:
    assert default_halt_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "kalshi-fix"
    home = {"HOME": str(tmp_path / "home")}
    assert default_halt_dir(home) == tmp_path / "home" / ".local" / "state" / "kalshi-fix"
    relative = {"XDG_STATE_HOME": "state", "HOME": str(tmp_path)}  # XDG: ignored if relative
    assert default_halt_dir(relative) == tmp_path / ".local" / "state" / "kalshi-fix"
    assert HaltFile("k").directory == Path(os.environ["XDG_STATE_HOME"]) / "kalshi-fix"
    assert HaltFile("k").interval == DEFAULT_HALT_POLL == 1.0


def test_halting_writes_one_file_atomically_in_an_owner_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "halts"
    halt_file = HaltFile("key-1", directory)
    assert halt_file.read() is None and halt_file.poll(0.0) is None  # no directory: no halt
    record = halt_file.halt(**WHEN)
    assert halt_file.path == directory / "halt-key-1.json"
    assert os.listdir(directory) == ["halt-key-1.json"]  # the temporary file was renamed
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(halt_file.path).st_mode) == 0o600
    data = json.loads(halt_file.path.read_text())
    assert data["key_id"] == "key-1" and data["pid"] == os.getpid()
    assert halt_file.read() == record
    assert record.reason.startswith("a kill from the shell at ")
    assert f"(pid {os.getpid()} on desk-7)" in record.reason  # the caller's host
    assert record.at == AT and data["at"] == AT.isoformat()  # the caller's time
    assert halt_file.poll(0.0) == record.reason
    again = halt_file.halt(**WHEN)  # halting again rewrites it
    assert halt_file.read() == again and os.listdir(directory) == ["halt-key-1.json"]
    assert halt_file.rearm() == again
    assert halt_file.poll(0.0) is None and halt_file.rearm() is None


def test_a_halt_takes_its_time_and_host_from_the_caller(tmp_path: Path) -> None:
    halt_file = HaltFile("k", tmp_path)
    eastern = timezone(timedelta(hours=-5))
    record = halt_file.halt(at=AT.astimezone(eastern), host="")
    assert record.at == AT and record.at.tzinfo == timezone.utc  # kept in UTC
    assert record.host == "localhost"  # a machine without a name
    for bad, what in (
        ({"at": AT.replace(tzinfo=None), "host": "h"}, "at must be an aware datetime"),
        ({"at": AT.timestamp(), "host": "h"}, "at must be an aware datetime"),
        ({"at": AT, "host": None}, "host must be a str"),
    ):
        with pytest.raises(LocalProtocolError, match=what):
            halt_file.halt(**bad)
    assert halt_file.read() == record  # a refused halt wrote nothing


def test_a_key_id_is_made_a_safe_file_name_without_collisions(tmp_path: Path) -> None:
    a, b = HaltFile("a/b", tmp_path), HaltFile("a_b", tmp_path)
    assert a.path.parent == tmp_path and a.path != b.path
    a.halt(**WHEN)
    assert b.read() is None and a.read() is not None
    with pytest.raises(LocalProtocolError, match="key_id"):
        HaltFile("", tmp_path)
    with pytest.raises(LocalProtocolError, match="interval"):
        HaltFile("k", tmp_path, interval=0)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("not json", "not JSON"),
        ("[]", "not a halt record"),
        ('{"key_id": "k", "at": "2026-01-01T00:00:00+00:00", "user": "u", "host": "h"}', "pid"),
        (
            '{"key_id": "k", "at": "yesterday", "user": "u", "pid": 1, "host": "h"}',
            "ISO 8601",
        ),
        ('{"key_id": "k", "at": "2026-01-01", "user": "u", "pid": -1, "host": "h"}', "range"),
    ],
)
def test_a_file_that_is_not_a_halt_record_halts_fail_closed(
    tmp_path: Path, content: str, named: str
) -> None:
    halt_file = HaltFile("k", tmp_path)
    halt_file.path.write_text(content)
    with pytest.raises(LocalProtocolError, match=named):
        halt_file.read()
    reason = halt_file.poll(0.0)
    assert reason is not None and "cannot be read" in reason and str(halt_file.path) in reason
    assert halt_file.rearm() is None and halt_file.poll(0.0) is None


def test_a_directory_where_the_file_should_be_halts_and_a_big_file_is_refused(
    tmp_path: Path,
) -> None:
    halt_file = HaltFile("k", tmp_path)
    halt_file.path.mkdir()
    reason = halt_file.poll(0.0)
    assert reason == (
        f"the halt file {halt_file.path}, which is not a regular file (kalshi-fix rearm removes it)"
    )
    halt_file.path.rmdir()
    halt_file.path.write_bytes(b" " * (64 * 1024 + 1))
    with pytest.raises(LocalProtocolError, match="not a halt record"):
        halt_file.read()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and modes")
def test_a_fifo_or_a_dangling_symlink_at_the_halt_path_halts_and_rearm_removes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FIFO is never opened (a read would wait for a writer: kalshi-fix rearm hung on one); a
    symbolic link to nothing is not "no halt" (fail-closed); rearm removes either."""
    from kalshi_fix_sansio.cli import main as kalshi_fix

    halt_file = HaltFile("k", tmp_path)
    os.mkfifo(halt_file.path)
    with pytest.raises(LocalProtocolError, match=r"not a regular file but a pipe \(FIFO\)"):
        halt_file.read()
    assert halt_file.poll(0.0) == (
        f"the halt file {halt_file.path}, which is not a regular file (kalshi-fix rearm removes it)"
    )
    assert kalshi_fix(["rearm", "--key-id", "k", "--halt-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"re-armed key k: removed {halt_file.path};")
    assert not os.path.lexists(halt_file.path) and halt_file.poll(1.0) is None

    os.symlink(tmp_path / "gone.json", halt_file.path)
    with pytest.raises(LocalProtocolError, match="a symbolic link to nothing"):
        halt_file.read()
    reason = halt_file.poll(2.0)
    assert reason == (
        f"the halt file {halt_file.path}, a symbolic link to nothing; fail-closed until it is "
        "removed (kalshi-fix rearm removes it)"
    )
    assert halt_file.rearm() is None and not os.path.lexists(halt_file.path)
    assert halt_file.poll(3.0) is None
    record = HaltFile("k", tmp_path).halt(**WHEN)
    os.replace(halt_file.path, tmp_path / "real.json")
    os.symlink(tmp_path / "real.json", halt_file.path)  # a link to a halt record is followed
    assert halt_file.read() == record and halt_file.poll(4.0) == record.reason


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX modes")
def test_a_halt_directory_every_user_may_write_halts_fail_closed_and_a_group_one_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another user could remove a halt (lift it) or plant one in a world-writable directory:
    every session of the key is halted there, whatever it holds; kill warns, rearm refuses,
    order refuses. A group-writable directory is a team's shared one: trusted, with a
    warning naming the group."""
    from kalshi_fix_sansio.cli import main as kalshi_fix
    from kalshi_fix_sansio.cli.halt import halt_dir_warning, halted_text

    directory = tmp_path / "team"
    directory.mkdir()
    halt_file = HaltFile("k", directory)
    directory.chmod(0o777)
    expected = (
        f"the halt directory {directory} is writable by every user (mode 0777): any of them "
        f"could lift or plant a halt there; make it yours only ('chmod 700 {directory}') or "
        "pass another directory"
    )
    assert halt_file.insecure_dir() == expected
    assert halt_file.poll(0.0) == expected  # no file, yet halted
    assert halted_text(halt_file) == f"key k is halted (fail-closed): {expected}"
    assert halt_dir_warning(halt_file) == (
        f"warning: {expected}; every session of the key stays halted while it is"
    )
    halt_file.halt(**WHEN)  # a kill still writes its halt (and kill prints the warning)
    assert kalshi_fix(["rearm", "--key-id", "k", "--halt-dir", str(directory)]) == 1
    assert capsys.readouterr().err == (
        f"kalshi-fix rearm: {expected}; key k stays halted (fail-closed) while it is: nothing "
        "removed\n"
    )
    assert halt_file.path.exists()

    directory.chmod(0o770)  # a team's directory: trusted, the group named
    assert halt_file.insecure_dir() is None
    assert halt_file.poll(1.0) is not None and "a kill from the shell" in halt_file.poll(1.0)
    group = halt_file.group_writable()
    assert group is not None
    assert kalshi_fix(["rearm", "--key-id", "k", "--halt-dir", str(directory)]) == 0
    out, err = capsys.readouterr()
    assert err == (
        f"kalshi-fix rearm: warning: the halt directory {directory} is writable by the group "
        f"{group}: its members can lift or plant this key's halt ('chmod 700 {directory}' "
        "unless the directory is shared with them on purpose)\n"
    )
    assert out.startswith("re-armed key k")
    directory.chmod(0o700)
    assert halt_file.group_writable() is None and halt_dir_warning(halt_file) is None
    assert halt_file.poll(2.0) is None


def test_a_poll_reads_the_file_again_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    halt_file = HaltFile("k", tmp_path)
    first = halt_file.halt(**WHEN)
    reads: list[int] = []
    real = HaltFile.read

    def counted(self: HaltFile) -> HaltRecord | None:
        reads.append(1)
        return real(self)

    monkeypatch.setattr(HaltFile, "read", counted)
    assert halt_file.poll(0.0) == first.reason
    assert halt_file.poll(1.0) == first.reason and len(reads) == 1
    second = HaltFile("k", tmp_path, interval=0.5)
    record = HaltRecord("k", first.at.replace(year=2030), "other", 9, "h2")
    halt_file.path.write_text(record.to_json())  # another inode or size: read again
    os.utime(halt_file.path, ns=(1, 1))
    assert halt_file.poll(2.0) == record.reason and len(reads) == 2
    assert second.poll(0.0) == record.reason


# -- per adapter, against the mock gateway over TLS --------------------------------------------


def halted_client(d: Driver, h: GatewayHarness, tmp: Path) -> Any:
    return d.client(h, halt_file=HaltFile("key-1", tmp, interval=0.1))


@ADAPTERS
def test_a_session_opened_while_the_key_is_halted_refuses_orders_but_cancels(
    adapter: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    record = HaltFile("key-1", tmp_path).halt(**WHEN)  # as kalshi-fix kill does

    async def scenario(d: Driver) -> None:
        client = halted_client(d, h, tmp_path)
        session = client.order_entry()
        async with d.opened(session):
            assert session.halted and session.halt_reason == record.reason
            with pytest.raises(TradingHalted) as caught:
                await d.call(session.place(limit(f"{adapter}-1")))
            assert caught.value.reason == record.reason
            assert open_at_gateway(h) == []
            report = await d.call(session.kill(timeout=10, halt=False))  # cancels still go
            assert report.done
        assert client.halted == record.reason

    run(adapter, scenario)


@ADAPTERS
def test_a_running_session_notices_a_halt_within_its_interval_cancels_and_lifts_with_it(
    adapter: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    halt_file = HaltFile("key-1", tmp_path)

    async def scenario(d: Driver) -> None:
        session = halted_client(d, h, tmp_path).order_entry(retransmission=True)
        async with d.opened(session):
            await d.call(session.place(limit(f"{adapter}-rest")))
            record = halt_file.halt(**WHEN)  # the shell halts the key
            halt = await d.wait_for(session, lambda e: isinstance(e, OutsideHalt), 5)
            assert halt.reason == record.reason
            finished = await d.wait_for(session, lambda e: isinstance(e, KillFinished), 10)
            assert (f"{adapter}-rest", OrderStatus.CANCELED) in finished.report.canceled
            assert open_at_gateway(h) == []
            with pytest.raises(
                TradingHalted, match="trading is halted by a kill from the shell at "
            ):
                await d.call(session.place(limit(f"{adapter}-late")))
            halt_file.rearm()  # kalshi-fix rearm
            lifted = await d.wait_for(session, lambda e: isinstance(e, OutsideHalt), 5)
            assert lifted.reason is None and not session.halted
            await d.call(session.place(limit(f"{adapter}-after", price=Decimal("0.41"))))
            assert open_at_gateway(h) == [f"{adapter}-after"]
            await d.call(session.kill(timeout=10, halt=False))

    run(adapter, scenario)


def test_a_client_refuses_a_halt_file_of_another_key_or_type(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    d = Driver("blocking")
    with pytest.raises(LocalProtocolError, match="halt file of key 'key-2'"):
        d.client(prediction_gateway, halt_file=HaltFile("key-2", tmp_path))
    with pytest.raises(LocalProtocolError, match="halt_file must be True, False or a HaltFile"):
        d.client(prediction_gateway, halt_file=str(tmp_path))
    off = d.client(prediction_gateway, halt_file=False)
    assert off.halt_file is None and off.order_entry().halt_source is None
    on = d.client(prediction_gateway)
    assert on.halt_file is not None and on.halt_file.path.parent == default_halt_dir()
    assert on.order_entry().halt_source is on.halt_file
    assert on.market_data().halt_source is None  # only order-entry sessions ask it

"""The adapters' shared transport helpers (``kalshi_fix_sansio.adapters``): endpoints and host
policy, backoff, reconnect plans and the maintenance window, the back-pressure bounds.

TLS, the FIX message log and credentials are in test_transport_tls.py,
test_transport_message_log.py and test_transport_credentials.py. No network access.
"""

from __future__ import annotations

import datetime
import random
import re
import socket
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kalshi_fix_sansio
import kalshi_fix_sansio.client as client
from kalshi_fix_sansio.codec.errors import FixError, LocalProtocolError
from kalshi_fix_sansio.codec.spec import ENVIRONMENTS, SESSIONS
from kalshi_fix_sansio.session.config import Role, SessionConfig

ALL_SESSIONS = sorted(SESSIONS)
ENVS = ("demo", "production")
JAN_1_2026 = 1767225600.0  # 2026-01-01T00:00:00Z (a Thursday)


# --------------------------------------------------------------------------------------------
# Endpoints


@pytest.mark.parametrize("environment", ENVS)
@pytest.mark.parametrize(("product", "session_type"), ALL_SESSIONS)
def test_kalshi_endpoint_for_every_session_type(
    product: str, session_type: str, environment: str
) -> None:
    spec = SESSIONS[(product, session_type)]
    endpoint = client.kalshi_endpoint(product, environment, session_type)
    host = ENVIRONMENTS[product][environment][spec.host]
    assert endpoint == client.Endpoint(host=host, port=spec.port, tls=True, server_hostname=host)
    assert endpoint.tls and not endpoint.loopback
    assert host in client.KALSHI_FIX_HOSTS
    client.check_endpoint(endpoint)  # documented hosts pass the policy


def test_kalshi_endpoint_spot_checks() -> None:
    assert client.kalshi_endpoint("prediction", "production", "KalshiRT") == client.Endpoint(
        "mm.fix.elections.kalshi.com", 8230
    )
    md = client.kalshi_endpoint("prediction", "demo", "KalshiMD")
    assert (md.host, md.port) == ("marketdata.fix.demo.kalshi.co", 8233)
    margin = client.kalshi_endpoint("margin", "production", "KalshiDC")
    assert (margin.host, margin.port) == ("margin-mm.fix.elections.kalshi.com", 8229)
    margin_md = client.kalshi_endpoint("margin", "demo", "KalshiMD")
    assert (margin_md.host, margin_md.port) == ("margin-marketdata.fix.demo.kalshi.co", 8233)
    assert str(margin_md) == "tls://margin-marketdata.fix.demo.kalshi.co:8233"
    assert len(client.KALSHI_FIX_HOSTS) == 8


def test_kalshi_endpoint_errors() -> None:
    with pytest.raises(
        LocalProtocolError, match=r"unknown environment 'prod'.*'demo', 'production'"
    ):
        client.kalshi_endpoint("prediction", "prod", "KalshiNR")
    with pytest.raises(LocalProtocolError, match=r"'KalshiPT' is not a margin session type"):
        client.kalshi_endpoint("margin", "demo", "KalshiPT")
    with pytest.raises(LocalProtocolError, match=r"'KalshiRFQ' is not a margin session type"):
        client.kalshi_endpoint("margin", "production", "KalshiRFQ")
    with pytest.raises(LocalProtocolError, match=r"'KalshiXX' is not a prediction session type"):
        client.kalshi_endpoint("prediction", "demo", "KalshiXX")
    with pytest.raises(LocalProtocolError, match=r"unknown product 'perps'"):
        client.kalshi_endpoint("perps", "demo", "KalshiNR")


def test_endpoint_validation_and_defaults() -> None:
    assert client.Endpoint("Example.COM", 443).server_hostname == "example.com"
    assert client.Endpoint("127.0.0.1", 9000, tls=False).server_hostname is None
    assert client.Endpoint("::1", 9000, tls=False).loopback
    assert str(client.Endpoint("::1", 9000, tls=False)) == "tcp://[::1]:9000"
    assert client.Endpoint(" [::1] ", 9000).host == "::1"
    for port in (0, 65536, -1, True, "8228"):
        with pytest.raises(LocalProtocolError, match="port"):
            client.Endpoint("localhost", port)  # type: ignore[arg-type, unused-ignore]
    for host in ("", "  ", "a b", "host/path"):
        with pytest.raises(LocalProtocolError, match="host"):
            client.Endpoint(host, 8228)
    with pytest.raises(LocalProtocolError, match="only applies to TLS"):
        client.Endpoint("127.0.0.1", 8228, tls=False, server_hostname="localhost")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        client.Endpoint("localhost", 1).port = 2  # type: ignore[misc, unused-ignore]


LOOPBACK = ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "localhost",
            "LOCALHOST", "localhost.", "::ffff:127.0.0.1"]  # fmt: skip
NOT_LOOPBACK = ["10.0.0.1", "128.0.0.1", "::2", "0.0.0.0", "192.168.1.1", "example.com",
                "localhost.example.com", "mylocalhost", "mm.fix.elections.kalshi.com"]  # fmt: skip


@pytest.mark.parametrize("host", LOOPBACK)
def test_plain_tcp_to_loopback_allowed(host: str) -> None:
    endpoint = client.Endpoint(host, 8228, tls=False)
    assert endpoint.loopback
    client.check_endpoint(endpoint)
    client.check_endpoint(client.Endpoint(host, 8228))  # TLS to loopback (mock gateway) too


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_plain_tcp_to_non_loopback_refused(host: str) -> None:
    endpoint = client.Endpoint(host, 8228, tls=False)
    assert not endpoint.loopback
    message = (
        rf"plain TCP to {re.escape(host)}:8228 refused: Kalshi requires TLS; "
        "plain TCP is only allowed to loopback"
    )
    with pytest.raises(LocalProtocolError, match=message):
        client.check_endpoint(endpoint)
    with pytest.raises(LocalProtocolError, match=message):  # the opt-in does not cover TLS
        client.check_endpoint(endpoint, allow_unlisted_hosts=True)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "fix.elections.kalshi.com"])
def test_unlisted_host_refused_unless_opted_in(host: str) -> None:
    endpoint = client.Endpoint(host, 8228)
    with pytest.raises(LocalProtocolError, match=r"not one of Kalshi's documented FIX hosts") as e:
        client.check_endpoint(endpoint)
    assert "allow_unlisted_hosts=True" in str(e.value)
    client.check_endpoint(endpoint, allow_unlisted_hosts=True)


def test_listed_host_matches_case_and_trailing_dot_insensitively() -> None:
    client.check_endpoint(client.Endpoint("MM.FIX.Elections.Kalshi.com.", 8228))


def test_errors_hierarchy() -> None:
    assert issubclass(kalshi_fix_sansio.TransportError, FixError)
    assert issubclass(client.ConnectionFailed, kalshi_fix_sansio.TransportError)
    cause = ConnectionRefusedError(111, "Connection refused")
    error = client.ConnectionFailed.for_endpoint(
        client.Endpoint("localhost", 8228), attempts=3, last_error=cause
    )
    assert error.attempts == 3 and error.last_error is cause
    assert str(error).startswith("could not connect to tls://localhost:8228 after 3 attempts")
    assert "ConnectionRefusedError" in str(error)
    one = client.ConnectionFailed.for_endpoint(client.Endpoint("localhost", 1), attempts=1)
    assert str(one) == "could not connect to tls://localhost:1 after 1 attempt"
    assert one.last_error is None


# --------------------------------------------------------------------------------------------
# Backoff


def expected_delays(seed: int, count: int, base: float = 0.5, cap: float = 30.0) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(0, min(cap, base * 2**n)) for n in range(count)]


def test_backoff_exact_sequence_for_a_seed() -> None:
    backoff = client.Backoff(seed=1234)
    delays = list(backoff.delays())
    assert delays == expected_delays(1234, 10)
    assert len(delays) == 10 and backoff.retries == 10
    assert list(backoff.delays()) == [] and backoff.next_delay() is None
    backoff.reset()
    assert backoff.retries == 0
    assert list(backoff.delays()) == delays  # a seeded backoff repeats after reset


def test_backoff_defaults_attempts_and_forever() -> None:
    backoff = client.Backoff()
    assert (backoff.base, backoff.cap, backoff.attempts, backoff.seed) == (0.5, 30.0, 10, None)
    assert list(client.Backoff(attempts=0).delays()) == []
    forever = client.Backoff(attempts=None, seed=7)
    values = [next(iter(forever.delays())) for _ in range(3000)]  # no overflow, no end
    assert all(0.0 <= v <= 30.0 for v in values)
    assert values[:12] == expected_delays(7, 12)


def test_backoff_validation() -> None:
    for kwargs in ({"base": 0}, {"cap": -1.0}, {"attempts": -1}, {"attempts": 1.5}):
        with pytest.raises(LocalProtocolError, match="Backoff"):
            client.Backoff(**kwargs)  # type: ignore[arg-type, unused-ignore]


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(min_value=1e-3, max_value=100.0),
    cap=st.floats(min_value=1e-3, max_value=1000.0),
    attempts=st.integers(min_value=0, max_value=60),
    seed=st.integers(),
)
def test_backoff_bounds(base: float, cap: float, attempts: int, seed: int) -> None:
    backoff = client.Backoff(base=base, cap=cap, attempts=attempts, seed=seed)
    delays = list(backoff.delays())
    assert len(delays) == attempts
    for n, delay in enumerate(delays):
        assert 0.0 <= delay <= min(cap, base * 2.0**n)
    assert delays == expected_delays(seed, attempts, base, cap)


# --------------------------------------------------------------------------------------------
# Reconnect plans


def _config(product: str, session_type: str, **kwargs: Any) -> SessionConfig:
    return SessionConfig(sender_comp_id="key", product=product, session_type=session_type, **kwargs)


RESETTING = {"KalshiNR", "KalshiDC", "KalshiRFQ", "KalshiMD"}
CONTINUING = {"KalshiRT", "KalshiPT"}


@pytest.mark.parametrize("after_maintenance", [False, True])
@pytest.mark.parametrize("after_gap_teardown", [False, True])
@pytest.mark.parametrize(("product", "session_type"), ALL_SESSIONS)
def test_reconnect_plan_for_every_session_type(
    product: str, session_type: str, after_gap_teardown: bool, after_maintenance: bool
) -> None:
    config = _config(product, session_type)
    plan = client.reconnect_plan(
        config, after_gap_teardown=after_gap_teardown, after_maintenance=after_maintenance
    )
    assert isinstance(plan, client.ReconnectPlan)
    assert session_type in RESETTING | CONTINUING
    assert plan.reset_seq_nums is (session_type in RESETTING)
    assert plan.reset_seq_nums is SESSIONS[(product, session_type)].reset_seq_num_required
    assert session_type in plan.reason
    if session_type in RESETTING:
        assert "ResetSeqNumFlag(141)=Y" in plan.reason
        assert ("gap cannot be recovered" in plan.reason) is after_gap_teardown
    else:
        assert "ResendRequest" in plan.reason
        assert ("protocol fault" in plan.reason) is after_gap_teardown
        assert ("maintenance" in plan.reason) is after_maintenance
    # maintenance_reset resets the retransmission sessions too, only after maintenance
    strict = client.reconnect_plan(
        config,
        after_gap_teardown=after_gap_teardown,
        after_maintenance=after_maintenance,
        maintenance_reset=True,
    )
    assert strict.reset_seq_nums is (session_type in RESETTING or after_maintenance)


def test_reconnect_plan_respects_configured_reset_and_refuses_acceptor() -> None:
    plan = client.reconnect_plan(
        _config("prediction", "KalshiRT", reset_seq_num=True), after_gap_teardown=False
    )
    assert plan.reset_seq_nums and "reset_seq_num=True" in plan.reason
    acceptor = _config("prediction", "KalshiRT", role=Role.ACCEPTOR)
    with pytest.raises(LocalProtocolError, match="initiator"):
        client.reconnect_plan(acceptor, after_gap_teardown=False)


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    return moment.timestamp()


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (_utc(2026, 1, 8, 8, 30), True),  # Thu 03:30 EST
        (_utc(2026, 1, 8, 7, 59, 59), False),  # Thu 02:59:59 EST
        (_utc(2026, 1, 8, 8, 0), True),  # Thu 03:00 EST
        (_utc(2026, 1, 8, 10, 0), False),  # Thu 05:00 EST
        (_utc(2026, 7, 9, 7, 30), True),  # Thu 03:30 EDT
        (_utc(2026, 7, 9, 8, 59, 59), True),  # Thu 04:59:59 EDT
        (_utc(2026, 7, 9, 9, 0), False),  # Thu 05:00 EDT
        (_utc(2026, 3, 5, 7, 30), False),  # Thu 02:30 EST (before DST starts on 8 March)
        (_utc(2026, 3, 12, 7, 30), True),  # Thu 03:30 EDT
        (_utc(2026, 1, 7, 8, 30), False),  # Wednesday
    ],
)
def test_maintenance_window(moment: float, inside: bool) -> None:
    assert client.in_maintenance_window(moment) is inside
    assert (client.seconds_until_maintenance_ends(moment) > 0) is inside


def test_seconds_until_maintenance_ends() -> None:
    assert client.seconds_until_maintenance_ends(_utc(2026, 1, 8, 8, 30)) == 5400.0
    assert client.seconds_until_maintenance_ends(_utc(2026, 7, 9, 8, 59, 59)) == 1.0
    assert client.seconds_until_maintenance_ends(_utc(2026, 7, 9, 9, 0)) == 0.0


MARCH_11_2007 = 1173596400.0  # 2007-03-11T07:00:00Z: the US DST rules in force since began


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=MARCH_11_2007, max_value=JAN_1_2026 + 20 * 365 * 86400))
def test_maintenance_window_agrees_with_tz_database(now: float) -> None:
    """From 2007 on: `in_maintenance_window` computes the US rules in force since then (the
    tz database differs before, where no session runs)."""
    try:
        from zoneinfo import ZoneInfo

        new_york = ZoneInfo("America/New_York")
    except Exception:  # no tz database on this machine
        pytest.skip("no tz database")
    local = datetime.datetime.fromtimestamp(now, new_york)
    assert client.in_maintenance_window(now) is (local.weekday() == 3 and 3 <= local.hour < 5)


def test_back_pressure_constants() -> None:
    assert client.MAX_BUFFERED_OUTBOUND == 8 * 1024 * 1024
    assert client.READ_CHUNK == 65536


CLIENT_MODULES = sorted(
    p.stem
    for p in (Path(__file__).resolve().parent.parent / "src/kalshi_fix_sansio/client").glob("*.py")
)


@pytest.mark.parametrize("module", CLIENT_MODULES)
def test_the_client_modules_import_no_event_loop(module: str) -> None:
    """What a client is, whatever the loop, lives in the sans-IO package and imports none."""
    import ast

    import kalshi_fix_sansio

    path = Path(kalshi_fix_sansio.__file__).parent / "client" / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported, path  # the module was read
    assert not imported & {"asyncio", "trio", "anyio", "threading", "selectors"}


def _rows(*addresses: str) -> list[tuple[Any, ...]]:
    return [
        (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 1))
        for a in addresses
    ]


def test_loopback_addresses_keeps_only_an_all_loopback_resolution() -> None:
    plain = client.Endpoint("localhost", 1, tls=False)
    rows = _rows("127.0.0.1", "::1", "127.0.0.1", "::ffff:127.0.0.2")
    assert client.loopback_addresses(plain, rows) == ["127.0.0.1", "::1", "::ffff:127.0.0.2"]
    with pytest.raises(LocalProtocolError, match=r"resolves to 10\.0\.0\.1, which is not loopback"):
        client.loopback_addresses(plain, _rows("127.0.0.1", "10.0.0.1"))
    with pytest.raises(LocalProtocolError, match="resolved to no address"):
        client.loopback_addresses(plain, [])
    with pytest.raises(LocalProtocolError, match="for plain TCP"):
        client.loopback_addresses(client.Endpoint("localhost", 1), rows)

"""A session's options are one object (`SessionOptions`), made once and handed to its driver.

A client's factory makes it of its keywords and the client's shared parts; an adapter's session
and a hand-driven `Driver` take it, or its fields as keywords (made of them, over a given
object); a keyword that is not a field is refused, naming it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from test_driver import config

from kalshi_fix_sansio.adapters.blocking import BlockingSession, FixClient
from kalshi_fix_sansio.client import QueuePolicy, SessionOptions
from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.risk import RiskLimits
from kalshi_fix_sansio.trading.tracker import OrderTracker


def test_a_driver_takes_the_options_object_or_its_fields_as_keywords() -> None:
    tracker = OrderTracker()
    limits, other = RiskLimits(max_order_qty=Decimal(5)), RiskLimits(max_order_qty=Decimal(7))
    settings = SessionOptions(tracker=tracker, risk_limits=limits, rate_limit="raise")
    driver = Driver(config("KalshiNR"), settings=settings)
    assert driver.tracker is tracker
    assert driver.gate.risk_limits == limits and driver.rate_limit == "raise"
    over = Driver(config("KalshiNR"), settings=settings, risk_limits=other)  # keywords win
    assert over.gate.risk_limits == other and over.tracker is tracker
    plain = Driver(config("KalshiNR"), risk_limits=other, max_queued_events=9)  # keywords only
    assert plain.gate.risk_limits == other and plain.policy.max_events == 9
    assert plain.rate_limit == "wait" and plain.tracker is not tracker


def test_a_keyword_that_is_no_option_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="risk_limit"):
        Driver(config("KalshiNR"), risk_limit=RiskLimits())
    with pytest.raises(TypeError, match="on_evnt"):
        SessionOptions.of(SessionOptions(), {"on_evnt": print})


def test_a_client_hands_its_session_one_options_object(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's factory makes one `SessionOptions` (its keywords and the client's shared
    tracker) and hands it to the adapter's session, which hands it to the driver as it is."""
    handed: list[Any] = []
    made = Driver.__init__

    def driver_init(driver: Driver, *args: Any, **kwargs: Any) -> None:
        handed.append(kwargs)
        made(driver, *args, **kwargs)

    monkeypatch.setattr(Driver, "__init__", driver_init)
    signer, _ = new_ed25519_keys()
    client = FixClient(Credentials("key-1", signer))
    policy = QueuePolicy(max_events=50)
    session = client.order_entry(queue_policy=policy, rate_limit="raise")
    (kwargs,) = handed
    settings = kwargs["settings"]
    assert isinstance(settings, SessionOptions)
    assert set(kwargs) == {"settings", "start_rest", "pump", "open_hint"}  # nothing else
    assert settings.queue_policy is policy and settings.rate_limit == "raise"
    assert settings.tracker is client.tracker is session.tracker
    assert session.queue_policy is policy and session.rate_limit == "raise"
    # an adapter's session takes the object too, and keywords over it
    config_, options = client.profile("KalshiNR")
    again = BlockingSession(
        config_, options, attrs.evolve(settings, tracker=None), clock=lambda: 5.0
    )
    assert handed[-1]["settings"].clock is not None and again.driver.clock() == 5.0
    assert again.tracker is not client.tracker and again.queue_policy is policy

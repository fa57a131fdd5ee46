# private: the `Moved` descriptor (`_moved`) of names that moved
"""Names that moved to the part that owns them (the private module `_moved`, its `Moved`
descriptor) still work, and warn naming the new spelling."""

from __future__ import annotations

import pytest

from kalshi_fix_sansio import Driver, SessionConfig
from kalshi_fix_sansio._moved import Moved
from kalshi_fix_sansio.risk import RiskLimits
from kalshi_fix_sansio.testing import new_ed25519_keys


def make_driver() -> Driver:
    signer, _ = new_ed25519_keys()
    return Driver(SessionConfig(sender_comp_id="trader", session_type="KalshiNR", signer=signer))


MOVED = sorted(
    (name, value.path) for name, value in vars(Driver).items() if isinstance(value, Moved)
)


def resolve(obj: object, path: str) -> object:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def test_the_table_lists_every_moved_driver_name() -> None:
    assert [name for name, _ in MOVED] == sorted(
        "session connections state order_waiter forget check risk_limits risk_books risk "
        "halted halt rearm finished connect_at wants_transport".split()
    )


@pytest.mark.parametrize(("name", "path"), MOVED)
def test_a_moved_name_warns_and_gives_the_owners_attribute(name: str, path: str) -> None:
    driver = make_driver()
    with pytest.warns(DeprecationWarning, match=rf"Driver\.{name} .* use driver\.{path}\b"):
        old = getattr(driver, name)
    assert old == resolve(driver, path)


def test_moved_methods_and_values_still_work() -> None:
    driver = make_driver()
    with pytest.warns(DeprecationWarning, match=r"driver\.gate\.halt"):
        driver.halt("stop")
    assert driver.gate.halted == "stop"
    with pytest.warns(DeprecationWarning, match=r"driver\.gate\.rearm"):
        driver.rearm()
    assert driver.gate.halted is None
    limits = RiskLimits(max_order_qty=3)
    with pytest.warns(DeprecationWarning, match=r"driver\.gate\.risk_limits"):
        driver.risk_limits = limits
    assert driver.gate.risk_limits == limits
    with pytest.warns(DeprecationWarning, match=r"driver\.gate\.risk_books"):
        driver.risk_books = None
    assert driver.gate.risk_books is None


def test_the_class_attribute_is_the_table_entry() -> None:
    assert isinstance(Driver.state, Moved) and Driver.state.path == "supervisor.state"


def test_the_acceptor_drivers_duplicate_moved_to_its_session() -> None:
    from kalshi_fix_sansio.gateway import AcceptorDriver

    entry = vars(AcceptorDriver)["duplicate"]
    assert isinstance(entry, Moved) and entry.path == "session.send_duplicate"

"""The kill switch alone (sans-IO): each answer it follows and each failure to send.

A `KillSwitch` over a real session config and `OrderTracker`, fed the events a session gives
and a ``send`` that records or fails: the mass cancel refused (35=j, 35=3, 35=r) or rate
limited, sends over the local rate limit, refused locally or on a lost connection, group
triggers, the drop-copy confirmation rounds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from test_driver import Harness
from test_kill_switch import BID, SYMBOL, limit

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError, TransportError
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    BusinessRejectReceived,
    LoggedOn,
    RateLimited,
    RejectReceived,
)
from kalshi_fix_sansio.session.ratelimit import RateLimitExceeded
from kalshi_fix_sansio.trading.killswitch import KillSwitch, cancels_orders
from kalshi_fix_sansio.trading.tracker import OrderTracker

# -- the KillSwitch alone: each answer and each failure to send ------------------------------------


class Wire:
    """The ``send`` a `KillSwitch` is given: records each message with its MsgSeqNum, or raises
    what ``fail`` holds for the next send (then sends normally again)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.fail: list[Exception] = []

    def __call__(self, message: Any) -> int:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append(message)
        return len(self.sent)

    def types(self) -> list[str]:
        return [m.MSG_TYPE for m in self.sent]


def execution_report(
    cl_ord_id: str, order_id: str, exec_id: str, *, canceled: bool, orig: str | None = None
) -> Any:
    """A buy of 2 at ``BID``: acknowledged (New), or Canceled."""
    return p.ExecutionReport(
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=orig,
        order_id=order_id,
        exec_id=exec_id,
        exec_type=p.ExecType.CANCELED if canceled else p.ExecType.NEW,
        ord_status=p.OrdStatus.CANCELED if canceled else p.OrdStatus.NEW,
        side=p.Side.BUY,
        symbol=SYMBOL,
        order_qty=Decimal(2),
        leaves_qty=Decimal(0 if canceled else 2),
        cum_qty=Decimal(0),
        price=BID,
    )


def acknowledged(
    session_type: str = "KalshiNR", count: int = 2, group: str | None = None
) -> tuple[KillSwitch, Wire]:
    """A kill over ``count`` resting orders ``o-0``... the exchange acknowledged (at time 0),
    all in order group ``group`` if one is given."""
    config = Harness(session_type=session_type).driver.config
    tracker = OrderTracker()
    for n in range(count):
        tracker.sent(limit(f"o-{n}", group=group))
        tracker.on_message(execution_report(f"o-{n}", f"X{n}", f"E{n}", canceled=False))
    assert len(tracker.open_orders()) == count
    return KillSwitch(config, tracker, 0.0), Wire()


def answer(message: Any, seq: int = 1) -> ApplicationMessage:
    return ApplicationMessage(message=message, seq_num=seq, poss_dup=False, raw=b"")


def rejected_by_kalshi(ref: str, *, rate_limit: bool) -> BusinessRejectReceived:
    reason, text = (8, "Rate limit exceeded") if rate_limit else (3, "not authorized")
    cls = RateLimited if rate_limit else BusinessRejectReceived
    return cls(
        ref_seq_num=None,
        ref_msg_type="q",
        business_reject_ref_id=ref,
        reason=reason,
        text=text,
        message=p.BusinessMessageReject(),
    )


def ended(kill: KillSwitch, cl_ord_id: str, orig: str | None, now: float) -> None:
    """The exchange reports an order canceled: the tracker sees it, then the kill."""
    report = execution_report(
        cl_ord_id, f"X-{orig or cl_ord_id}", f"C-{cl_ord_id}", canceled=True, orig=orig
    )
    kill.tracker.on_message(report)
    kill.observe(answer(report), now)


def reasons(kill: KillSwitch, now: float) -> list[str]:
    return [s.reason for s in kill.report(now).still_open]


@pytest.mark.parametrize(
    ("session_type", "use_groups", "means"),
    [
        ("KalshiNR", True, "one OrderMassCancelRequest (35=q)"),
        ("KalshiRT", True, "order-group triggers (35=UOG) and OrderCancelRequests (35=F)"),
        ("KalshiRT", False, "OrderCancelRequests (35=F)"),
    ],
)
def test_the_means_are_named_per_session_type(
    session_type: str, use_groups: bool, means: str
) -> None:
    config = Harness(session_type=session_type).driver.config
    kill = KillSwitch(config, OrderTracker(), 0.0, use_groups=use_groups)
    assert kill.means.startswith(means)


@pytest.mark.parametrize("fallback_after", [True, "1", float("nan")])
def test_fallback_after_must_be_a_number_of_seconds(fallback_after: Any) -> None:
    config = Harness().driver.config
    with pytest.raises(LocalProtocolError, match="fallback_after must be seconds >= 0"):
        KillSwitch(config, OrderTracker(), 0.0, fallback_after=fallback_after)


@pytest.mark.parametrize(("wait", "retry_at"), [(0.25, 0.25), (float("inf"), 1.0)])
def test_a_send_over_the_local_rate_limit_waits_for_its_tokens(
    wait: float, retry_at: float
) -> None:
    kill, wire = acknowledged()
    wire.fail.append(RateLimitExceeded("over", wait=wait, bucket="orders", msg_type="q"))
    kill.advance(0.0, wire, connected=True)
    assert wire.sent == [] and kill.next_deadline() == retry_at
    assert reasons(kill, 0.0) == [f"nothing sent yet: rate limited until +{retry_at:.3f} s"] * 2
    kill.advance(retry_at / 2, wire, connected=True)  # too early: nothing
    assert wire.sent == []
    kill.advance(retry_at, wire, connected=True)
    assert wire.types() == ["q"]


def test_a_mass_cancel_refused_locally_falls_back_to_single_cancels_at_once() -> None:
    kill, wire = acknowledged()
    wire.fail.append(LocalProtocolError("no 35=q today"))
    kill.advance(0.0, wire, connected=True)
    assert wire.types() == ["F", "F"]
    notes = kill.report(0.0).notes
    assert any("refused locally (no 35=q today): OrderCancelRequests instead" in n for n in notes)


def test_a_cancel_refused_locally_is_listed_with_its_reason_and_not_retried() -> None:
    kill, wire = acknowledged("KalshiRT", count=1)
    wire.fail.append(LocalProtocolError("a bad field"))
    kill.advance(0.0, wire, connected=True)
    kill.advance(5.0, wire, connected=True)
    assert wire.sent == []
    assert reasons(kill, 5.0) == ["F refused locally: a bad field"]


def test_a_connection_lost_while_sending_waits_for_the_next_logon() -> None:
    kill, wire = acknowledged()
    wire.fail.append(TransportError("connection reset"))
    kill.advance(0.0, wire, connected=True)
    assert wire.sent == [] and kill.next_deadline() is None
    why = "nothing sent yet: the connection is down (waiting for the reconnect)"
    assert reasons(kill, 0.0) == [why, why]
    kill.advance(1.0, wire, connected=False)
    assert wire.sent == [] and not kill.done
    kill.observe(LoggedOn(30, False, "key-1", p.Logon()), 2.0)
    kill.advance(2.0, wire, connected=True)
    assert wire.types() == ["q"] and kill.report(2.0).waited_for_reconnect


def test_a_mass_cancel_rate_limited_by_kalshi_is_sent_again_a_second_later() -> None:
    kill, wire = acknowledged()
    kill.advance(0.0, wire, connected=True)
    (mass,) = wire.sent
    kill.observe(rejected_by_kalshi(str(mass.cl_ord_id), rate_limit=True), 0.5)
    assert kill.report(0.5).sent == ()  # forgotten: it is sent again
    assert any("was rate limited by Kalshi" in n for n in kill.report(0.5).notes)
    kill.advance(1.0, wire, connected=True)
    assert wire.types() == ["q"]
    kill.advance(1.5, wire, connected=True)
    assert wire.types() == ["q", "q"]


@pytest.mark.parametrize("refusal", ["35=j", "35=3", "35=r"])
def test_a_refused_mass_cancel_sends_single_cancels_at_once(refusal: str) -> None:
    kill, wire = acknowledged()
    kill.advance(0.0, wire, connected=True)
    (mass,) = wire.sent
    ref = str(mass.cl_ord_id)
    if refusal == "35=j":
        kill.observe(rejected_by_kalshi(ref, rate_limit=False), 0.5)
    elif refusal == "35=3":
        kill.observe(
            RejectReceived(
                ref_seq_num=1,
                ref_tag_id=None,
                ref_msg_type="q",
                reason=5,
                text="bad value",
                message=p.Reject(),
            ),
            0.5,
        )
    else:
        kill.observe(
            answer(
                p.OrderMassCancelReport(
                    cl_ord_id=ref,
                    mass_cancel_response=p.MassCancelResponse.REJECTED,
                )
            ),
            0.5,
        )
    (request,) = kill.report(0.5).sent
    assert request.answer is not None and request.answer.startswith(refusal)
    assert any("OrderMassCancelRequest was refused" in n for n in kill.report(0.5).notes)
    kill.advance(0.5, wire, connected=True)  # no fallback wait: the 35=q will not cancel them
    assert wire.types() == ["q", "F", "F"]
    for n, cancel in enumerate(wire.sent[1:]):
        ended(kill, str(cancel.cl_ord_id), f"o-{n}", 0.6)
    report = kill.report(0.6)
    assert report.done and report.confirmed is False  # refused: the exchange confirmed nothing


def test_a_request_the_lost_connection_left_unanswered_is_sent_again() -> None:
    kill, wire = acknowledged()
    kill.advance(0.0, wire, connected=True)
    assert reasons(kill, 0.25)[0].endswith("sent 0.250 s ago: no answer yet")
    kill.observe(LoggedOn(30, False, "key-1", p.Logon()), 1.0)
    assert kill.report(1.0).sent[0].answer == "no answer: the connection was lost"
    assert any("1 request(s) unanswered: sent again" in n for n in kill.report(1.0).notes)
    kill.advance(1.0, wire, connected=True)
    assert wire.types() == ["q", "q"]


def test_a_confirmation_that_keeps_finding_orders_ends_unconfirmed() -> None:
    kill, wire = acknowledged(count=1)
    kill.confirm = True
    kill.advance(0.0, wire, connected=True)
    ref = str(wire.sent[0].cl_ord_id)
    done = p.OrderMassCancelReport(
        cl_ord_id=ref, mass_cancel_response=p.MassCancelResponse.ALL_ORDERS_CANCELLED
    )
    kill.observe(answer(done), 0.1)
    ended(kill, "o-0", None, 0.1)
    for round_ in range(3):
        assert kill.confirm_due and kill.confirmed is None
        kill.confirming()
        kill.tracker.sent(limit(f"late-{round_}"))  # the replay shows one more order open
        kill.confirmation(True, f"round {round_}", 0.2)
        if round_ < 2:
            assert not kill.confirm_due  # cancel it first, then confirm again
            ended(kill, f"late-{round_}", None, 0.3)
    assert kill.confirmed is False
    assert any("orders kept appearing" in n for n in kill.report(0.4).notes)


def test_without_anything_to_replay_the_answer_to_the_mass_cancel_stands() -> None:
    kill, wire = acknowledged(count=0)
    kill.confirm = True
    kill.advance(0.0, wire, connected=True)
    done = p.OrderMassCancelReport(
        cl_ord_id=str(wire.sent[0].cl_ord_id),
        mass_cancel_response=p.MassCancelResponse.ALL_ORDERS_CANCELLED,
    )
    kill.observe(answer(done), 0.1)
    assert kill.confirm_due and kill.finished_at is None
    kill.confirmation(True, "no ExecID seen yet", 0.2, replayed=False)
    assert kill.finished_at == 0.2 and kill.confirmed is True
    assert "no drop-copy confirmation: no ExecID seen yet" in kill.report(0.2).notes
    kill.confirmation(False, "late", 0.3)  # after the end: ignored
    assert kill.confirmed is True


GROUP = "0b7e4a52-6c1d-4f3e-9a8b-2d5c7e9f1a3b"


@pytest.mark.parametrize("rate_limit", [False, True])
def test_a_group_trigger_kalshi_refuses_is_followed_by_cancels(rate_limit: bool) -> None:
    kill, wire = acknowledged("KalshiRT", group=GROUP)
    kill.advance(0.0, wire, connected=True)
    assert wire.types() == ["UOG"] and kill.report(0.0).triggered_groups == (GROUP,)
    kill.observe(rejected_by_kalshi(GROUP, rate_limit=rate_limit), 0.5)
    assert kill.report(0.5).triggered_groups == ()
    kill.advance(0.5, wire, connected=True)
    if rate_limit:  # sent again once Kalshi's limit allows: the trigger again, not 35=F
        assert wire.types() == ["UOG"]
        kill.advance(1.5, wire, connected=True)
        assert wire.types() == ["UOG", "UOG"]
        assert any(f"UOG {GROUP} was rate limited by Kalshi" in n for n in kill.report(1.5).notes)
    else:  # refused: each order gets its own 35=F at once
        assert wire.types() == ["UOG", "F", "F"]
        notes = kill.report(0.5).notes
        assert any(f"the trigger of order group {GROUP} was refused (35=j" in n for n in notes)


def test_a_trigger_over_the_local_rate_limit_holds_back_the_cancels_too() -> None:
    kill, wire = acknowledged("KalshiRT", count=2, group=GROUP)
    kill.tracker.sent(limit("solo"))
    wire.fail.append(RateLimitExceeded("over", wait=0.5, bucket="orders", msg_type="UOG"))
    kill.advance(0.0, wire, connected=True)
    assert wire.sent == [] and kill.next_deadline() == 0.5
    kill.advance(0.5, wire, connected=True)
    assert wire.types() == ["UOG", "F"]


def test_a_group_that_cannot_be_triggered_gets_single_cancels() -> None:
    kill, wire = acknowledged("KalshiRT", group="not-a-uuid")
    assert {o.group_id for o in kill.tracker.open_orders()} == {"not-a-uuid"}
    kill.advance(0.0, wire, connected=True)
    assert wire.types() == ["F", "F"] and kill.report(0.0).triggered_groups == ()


def test_a_cancel_kalshi_refuses_is_listed_with_its_answer_and_not_sent_again() -> None:
    kill, wire = acknowledged("KalshiRT", count=1)
    kill.advance(0.0, wire, connected=True)
    (cancel,) = wire.sent
    refusal = p.OrderCancelReject(
        cl_ord_id=str(cancel.cl_ord_id),
        orig_cl_ord_id="o-0",
        order_id="X0",
        text="too late to cancel",
        cxl_rej_reason=p.CxlRejReason.TOO_LATE_TO_CANCEL,
    )
    kill.tracker.on_message(refusal)
    kill.observe(answer(refusal), 0.2)
    kill.advance(5.0, wire, connected=True)
    assert wire.types() == ["F"]
    (why,) = reasons(kill, 5.0)
    assert why.startswith(f"OrderCancelRequest {cancel.cl_ord_id} answered 35=9 too late to cancel")


def test_a_kalshi_nr_kill_not_sent_yet_says_unseen_orders_may_be_open() -> None:
    kill, _wire = acknowledged(count=0)
    report = kill.report(0.0)
    assert not report.done and report.confirmed is None
    assert any(
        "was not sent yet: orders the tracker does not know may be open" in n for n in report.notes
    )


def test_a_listener_session_cannot_cancel() -> None:
    config = Harness(session_type="KalshiRT").driver.config
    listener = config.__class__(
        sender_comp_id="key-1",
        session_type="KalshiRT",
        listener_session=True,
        skip_pending_exec_reports=True,
    )
    assert cancels_orders(config) and not cancels_orders(listener)
    assert KillSwitch(listener, OrderTracker(), 0.0).means.startswith("nothing")

"""Order groups (35=UOG / 35=UOH): a rolling 15-second fill limit over a set of orders.

* An OrderGroupID(20130) that is not a UUID (8-4-4-4-12 hex digits), on 35=UOG or 35=D, is a
  malformed field: the session Reject the order-groups page documents (35=3 373=6 ``Incorrect
  data format for value``, RefTagID 20130, RefMsgType of the request), not a business reject.
  The gateway server sends it through the client's session.
* Groups belong to (account, AllocAccount). Create needs OrderGroupContractsLimit 1-1,000,000
  (35=j 380=5 when missing, 380=0 when out of range or when OrderGroupID is sent). Unknown group
  or other owner: 35=j 380=0 ``ORDER_GROUP_NOT_FOUND``. Group cancels come before the 35=UOH
  answer.
* The rolling window holds the group's fills of the last 15 s (``now - 15 < t <= now``); when
  it exceeds the limit the group triggers at once: its open orders are cancelled
  (``ORDER_GROUP_CANCEL``), including the rest of an incoming order of the group, and new
  orders are rejected with ``EXCEEDED_ORDER_GROUP_RISK_LIMIT`` (103=3) until Reset. Update to a
  limit below the rolling volume triggers the group.
* A user (account) has at most `MAX_ORDER_GROUPS` groups (Kalshi's 25,000; a parameter of the
  gateway, ``max_order_groups``): a Create past it is refused with 35=j 380=0, the text
  naming the limit; Delete frees a place.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from .common import (
    INCORRECT_DATA_FORMAT,
    ORDER_GROUP_ID_TAG,
    as_int,
    as_text,
    is_uuid,
    raw_value,
)
from .model import ClientSession, Order, OrderGroup
from .orders import Orders
from .state import ExchangeState

__all__ = ["MAX_ORDER_GROUPS", "OrderGroups"]

MAX_GROUP_LIMIT: Final = 1_000_000
MAX_ORDER_GROUPS: Final = 25_000
"""The most order groups a user (account, its subaccounts included) may have at once: Kalshi's
limit of 25,000 per user."""


class OrderGroups:
    """The order groups of every account and the 35=UOG handler."""

    def __init__(
        self, state: ExchangeState, orders: Orders, max_groups: int = MAX_ORDER_GROUPS
    ) -> None:
        self.state = state
        self.orders = orders
        self.max_groups = max_groups
        self.by_id: dict[str, OrderGroup] = {}
        self.per_account: dict[str, int] = {}  # the groups each account has now

    def record_fill(self, order: Order, qty: Decimal) -> None:
        """Count a fill of ``order`` in its group's window; trigger the group past its limit."""
        group = self.by_id.get(order.group_id) if order.group_id else None
        if group is not None:
            group.fills.append((self.state.now, qty))
            if not group.triggered and group.volume(self.state.now) > group.limit:
                self.trigger(group)

    def on_order_group(self, session: ClientSession, msg: Any) -> None:
        """OrderGroupRequest (35=UOG): create, reset, delete, trigger or update a group."""
        action = as_int(msg.order_group_action)
        alloc_raw = getattr(msg, "alloc_account", None)
        alloc = as_int(alloc_raw) if alloc_raw is not None else 0
        gid = as_text(msg.order_group_id)
        limit_raw = msg.order_group_contracts_limit
        limit = as_int(limit_raw)

        def reject(reason: int, text: str) -> None:
            self.state.business_reject(session, msg, reason, text, gid)

        if gid is not None and not is_uuid(gid):
            return self.state.session_reject(
                session, msg, ORDER_GROUP_ID_TAG, 6, INCORRECT_DATA_FORMAT
            )
        if alloc is None or not 0 <= alloc <= 63:
            return reject(0, "AllocAccount(79) must be 0-63")
        if action not in (1, 2, 3, 4, 5):
            return reject(
                0, f"unsupported OrderGroupAction(20131) {raw_value(msg.order_group_action)}"
            )
        if action in (1, 5):
            if limit_raw is None:
                return reject(5, "OrderGroupContractsLimit(20132) is required")
            if limit is None or not 1 <= limit <= MAX_GROUP_LIMIT:
                return reject(0, "OrderGroupContractsLimit(20132) must be 1-1000000")
        if action == 1:
            if msg.order_group_id is not None:
                return reject(0, "OrderGroupID(20130) must not be sent on Create")
            assert limit is not None
            if self.per_account.get(session.account, 0) >= self.max_groups:
                return reject(
                    0,
                    f"ORDER_GROUP_LIMIT_EXCEEDED: at most {self.max_groups} order groups per "
                    "user; delete one (OrderGroupAction 3) first",
                )
            self.per_account[session.account] = self.per_account.get(session.account, 0) + 1
            group = OrderGroup(
                group_id=self.state.uuid(),
                account=session.account,
                alloc_account=alloc,
                limit=limit,
            )
            self.by_id[group.group_id] = group
            return self.group_response(session, group, with_limit=True)
        if gid is None:
            return reject(5, "OrderGroupID(20130) is required")
        group_or_none = self.by_id.get(gid)
        if (
            group_or_none is None
            or group_or_none.account != session.account
            or group_or_none.alloc_account != alloc
        ):
            return reject(0, "ORDER_GROUP_NOT_FOUND")
        group = group_or_none
        if action == 2:
            group.triggered = False
            group.fills.clear()
        elif action == 3:
            for order in self.state.orders_where(lambda o: o.group_id == group.group_id):
                self.orders.cancel(order, text="ORDER_GROUP_CANCEL")
            del self.by_id[group.group_id]
            self.per_account[group.account] -= 1
        elif action == 4:
            self.trigger(group)
        else:
            assert limit is not None
            group.limit = limit
            if group.volume(self.state.now) > limit:
                self.trigger(group)
        self.group_response(session, group, with_limit=action == 5)

    def group_response(
        self, session: ClientSession, group: OrderGroup, *, with_limit: bool
    ) -> None:
        """The 35=UOH answer."""
        d = self.state.d
        if self.state.prediction:
            message = d.OrderGroupResponse(
                order_group_id=group.group_id,
                order_group_contracts_limit=group.limit if with_limit else None,
                alloc_account=group.alloc_account,
            )
        else:
            message = d.OrderGroupResponse(order_group_id=group.group_id)
        self.state.send(session, message)

    def trigger(self, group: OrderGroup) -> None:
        """Trigger a group: cancel its open orders; new orders are refused until Reset."""
        group.triggered = True
        for order in self.state.orders_where(lambda o: o.group_id == group.group_id):
            self.orders.cancel(order, text="ORDER_GROUP_CANCEL")

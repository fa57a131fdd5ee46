"""The mock gateway's connections and the exchange: Logons, routing, faults, drops.

`Router` is the part of `MockGateway <kalshi_fix_sansio.simulator.gateway.MockGateway>` between the
connections (`Connection`, each a pump over an `AcceptorDriver`) and the pure `Exchange`: it
checks who logs on (one connection per API key, the product of the key, a refused key), keeps
KalshiRT / KalshiPT exchange sessions across reconnects (reports produced while the client is
away are stored for the resend, the last ``resend_messages`` of them), routes the exchange's
answers to the connections, writes once per connection per input, and turns the `Faults` on
into the drivers' public fault hooks.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import Callable
from typing import Any

from ...client.pump import AcceptorDriver
from ...codec import Header, Message, margin, prediction
from ...codec.errors import FixError
from ...session import State
from ...session.auth import PublicKey
from ...session.config import KALSHI_COMP_ID, Role, SessionConfig
from ...session.events import ApplicationMessage, CloseTransport, LoggedOn, LogonRejected
from ...session.machine import sending_time
from ...session.store import MemoryStore, MessageStore
from .connection import Connection, KeyedStore
from .exchange import EncodedMessage, Exchange, Outbound
from .listening import LOGON_RATE_LIMIT_TEXT, MAINTENANCE_TEXT, Faults
from .net import Pipe
from .timers import LoopTimers, Timers

__all__ = ["Router"]


class Router:
    """Connections <-> exchange (see the module docstring); `MockGateway` is one."""

    product: str
    keys: dict[str, PublicKey]
    other_product_keys: dict[str, PublicKey]
    heartbeat_interval: int
    ssl_context: ssl.SSLContext | None
    write_timeout: float | None
    max_buffered: int
    exchange: Exchange
    faults: Faults
    log: list[str]
    resend_messages: int
    accounts: dict[str, str]  # API key -> its account (a key not listed: its own account)

    def _init_router(self) -> None:
        self._stores: dict[tuple[str, str], MessageStore] = {}
        self._conns: dict[str, Connection] = {}  # exchange session id -> its connection
        self._live: set[Connection] = set()  # every connection not dropped yet
        self._by_key: dict[str, str] = {}
        # (API key, session type) -> exchange session id kept across RT / PT reconnects
        self._durable: dict[tuple[str, str], str] = {}
        self._durable_dollars: dict[tuple[str, str], bool] = {}
        self._silent_upto: int | None = None
        self._logons: dict[str, deque[float]] = {}  # account -> its recent Logons' times
        self._counter = 0
        # connections with bytes queued by the input being served: written once, at its end
        self._dirty: dict[Connection, None] = {}
        self._serving = 0
        # the chunk a `replay_market` asked to hand over wrote (`Pipe.hand_over`): the pipe
        # end that receives it, its bytes and their values (`Session.handed`, or None), for
        # its caller to deliver (None: none)
        self.handed: tuple[Pipe, bytes, Any] | None = None
        self.clock: Callable[[float], float] | None = None
        """The exchange's clock from the sessions' time (a replay's recording clock); None:
        the sessions' time. Sessions (SendingTime, heartbeats) always run on `timers`."""
        self.timers: Timers = LoopTimers()
        """The sessions' clock and timers: the wall clock and the running asyncio loop's
        (`LoopTimers`), or a simulation's (`kalshi_fix_sansio.simulator.world.simulation`)."""
        self.input_listeners: list[Callable[[Connection], None]] = []
        """Called after each input of a connection was served (a replay's pacing listens)."""

    def exchange_now(self, now: float) -> float:
        """The exchange's time at wall-clock time ``now`` (see `clock`)."""
        clock = self.clock
        return now if clock is None else clock(now)

    # -- a new connection ------------------------------------------------------------------------

    def accept(self, conn: Connection, now: float) -> None:
        """A connection is open: its acceptor driver waits for the client's Logon."""
        self._counter += 1
        conn.index = self._counter
        conn.session_id = f"{conn.session_type}#{self._counter}"
        conn.store = KeyedStore()
        config = SessionConfig(
            sender_comp_id=KALSHI_COMP_ID,
            product=self.product,
            session_type=conn.session_type,
            role=Role.ACCEPTOR,
            # the other product's keys pass the signature check, then `_logon_check` refuses
            # them by name (instead of "unknown API key")
            public_keys={**self.other_product_keys, **self.keys},
            store=conn.store,
            heartbeat_interval=self.heartbeat_interval,
            logon_check=lambda logon: self._logon_check(conn, logon),
        )
        conn.driver = AcceptorDriver(
            config,
            plain=self.ssl_context is None,
            write_timeout=self.write_timeout,
            max_buffered=self.max_buffered,
        )
        self._conns[conn.session_id] = conn
        self._live.add(conn)  # the connection starts its driver (`Connection.perform`)

    def _logon_check(self, conn: Connection, logon: Any) -> str | None:
        key = logon.header.sender_comp_id or ""
        if key in self.other_product_keys:
            other = "margin" if self.product == "prediction" else "prediction"
            return (
                f"API key {key} is a {other} key, but this is the {self.product} gateway: "
                f"connect to the {other} gateway, or log on with a {self.product} key"
            )
        if key in self.faults.refuse_keys:
            return "temporarily unavailable, try again later"
        faults = self.faults
        text = faults.reject_next_logon
        if text:
            faults.reject_next_logon = None
            return text
        now = self.timers.time()
        until = faults.maintenance_until
        if until is not None:
            if now < until:
                return MAINTENANCE_TEXT
            faults.maintenance_until = None  # the window is over
        limit = faults.logon_rate_limit
        if limit is not None and not self._logon_allowed(self.account_of(key), now, limit):
            return LOGON_RATE_LIMIT_TEXT
        if key in self._by_key:
            return "already exists"
        conn.api_key = key
        store = self._stores.get((key, conn.session_type))
        if store is None or not conn.session.config.spec.retransmission:
            store = MemoryStore(max_messages=self.resend_messages)
            self._stores[(key, conn.session_type)] = store
        conn.store.target = store
        return None

    def account_of(self, key: str) -> str:
        """The account of API key ``key`` (the key itself unless ``accounts`` lists it)."""
        return self.accounts.get(key, key)

    def _logon_allowed(self, account: str, now: float, limit: tuple[int, float]) -> bool:
        """At most ``n`` Logons of ``account``'s keys in any ``seconds``
        (`Faults.logon_rate_limit`); an allowed one is counted, a refused one is not."""
        n, seconds = limit
        times = self._logons.setdefault(account, deque())
        while times and times[0] <= now - seconds:
            times.popleft()
        if len(times) >= n:
            return False
        times.append(now)
        return True

    # -- serving an input ------------------------------------------------------------------------

    def sync_hang(self, conn: Connection) -> None:
        """Tell ``conn``'s driver whether the silent fault holds it (it holds the connections
        logged on when it was set)."""
        hung = False
        if not self.faults.silent:
            self._silent_upto = None
        else:
            if self._silent_upto is None:
                self._silent_upto = self._counter
            hung = conn.logged_on and conn.index <= self._silent_upto
        if hung is not conn.driver.hung:
            conn.driver.hang(hung)

    def serve_events(self, conn: Connection, now: float) -> None:
        """Hand ``conn``'s events to the exchange, then write what every session queued."""
        driver = conn.driver
        self._serving += 1
        faults = self.faults
        try:
            for event in driver.events():
                if isinstance(event, ApplicationMessage):
                    if faults.rate_limit_next > 0:
                        faults.rate_limit_next -= 1
                        handle = self.exchange.reject_rate_limited
                    else:
                        handle = self.exchange.handle
                    self._route(handle(conn.session_id, event.message, self.exchange_now(now)), now)
                elif isinstance(event, LoggedOn):
                    self._logged_on(conn, event, now)
                elif isinstance(event, (CloseTransport, LogonRejected)):
                    if isinstance(event, CloseTransport):
                        self._release(conn)
                    self.log.append(f"{conn.session_id}: {event}")
            if driver.failure is not None:
                self.log.append(f"{conn.session_id}: {driver.failure}")
        finally:
            self._serving -= 1
        self._dirty[conn] = None
        if not self._serving:
            self._flush_dirty(now)
        for listener in self.input_listeners:
            listener(conn)

    def _logged_on(self, conn: Connection, event: LoggedOn, now: float) -> None:
        key = conn.api_key or event.sender_comp_id
        logon: Any = event.logon
        conn.cancel_on_disconnect = logon.cancel_orders_on_disconnect is True
        session_type = conn.session_type
        durable = self._durable.get((key, session_type))
        if durable is not None and not event.reset_seq_nums:
            # KalshiRT / KalshiPT continuity: the new connection takes over the exchange
            # session, and what was produced meanwhile is in the store
            self._conns.pop(conn.session_id, None)
            conn.session_id = durable
            self._conns[durable] = conn
            self._by_key[key] = durable
            return
        if durable is not None:
            self._route(self.exchange.disconnect(durable, self.exchange_now(now)), now)
            del self._durable[(key, session_type)]
        self._by_key[key] = conn.session_id
        if conn.session.config.spec.retransmission:
            self._durable[(key, session_type)] = conn.session_id
            self._durable_dollars[(key, session_type)] = (
                self.product == "margin" or logon.use_dollars is True
            )
        self._route(
            self.exchange.connect(
                conn.session_id,
                self.account_of(key),
                session_type,
                listener=logon.listener_session is True,
                cancel_on_disconnect=logon.cancel_orders_on_disconnect is True,
                use_dollars=logon.use_dollars is True,
                settlement_reports=_wants_settlement(logon),
                preserve_original_order_qty=logon.preserve_original_order_qty is True,
                use_expired_ord_status=logon.use_expired_ord_status is True,
                wire=True,  # its session encodes: market data comes as bytes
                now=self.exchange_now(now),
            ),
            now,
        )

    # -- the exchange's answers ------------------------------------------------------------------

    def _route(self, outbound: list[Outbound], now: float, hand: bool = False) -> None:
        """Send each message on its session (the faults on); written at the end of the input
        being served, or at once when none is (the ticker, an admin call). ``hand``: one
        market-data message written at once is handed over where it can be
        (`_write_encoded`)."""
        faults = self.faults
        dirty = self._dirty
        if len(outbound) == 1 and not dirty and not self._serving:
            message = outbound[0].message
            if type(message) is EncodedMessage:
                body = message.body
                handed = self.exchange._md._wire.handed  # its values, when it has them
                if self._write_encoded(
                    outbound[0].session_id,
                    message.MSG_TYPE,
                    body,
                    now,
                    hand,
                    handed if handed is not None and handed[0] is body else None,
                ):
                    return
        for out in outbound:
            conn = self._conns.get(out.session_id)
            if conn is None:
                self._store_offline(out, now)
                continue
            driver = conn.driver
            if not driver.logged_on:
                continue
            if faults.skip_seq:
                driver.skip(faults.skip_seq)
                faults.skip_seq = 0
            message = out.message
            if not isinstance(message, EncodedMessage) and message.MSG_TYPE == "3":
                self._send_reject(conn, message, now)
            else:
                try:
                    if isinstance(message, EncodedMessage):  # market data made as bytes
                        self._send_encoded(driver, message, now)
                    else:
                        driver.send(message, now)
                except FixError as exc:  # the exchange produced something the session refuses
                    self.log.append(f"{conn.session_id}: cannot send {_name(message)}: {exc}")
                    continue
                if faults.duplicate_next:
                    faults.duplicate_next = False
                    driver.session.send_duplicate(now)
            dirty[conn] = None
        if not self._serving and dirty:
            self._flush_dirty(now)

    def replay_market(
        self, entries: tuple[tuple[Any, ...], ...], now: float, hand: bool = False
    ) -> bool | None:
        """`_route` of `Exchange.replay_row` of a recorded 35=X of these entries, when they
        are `Exchange.replay_market`'s common message (one listed market): a 35=X to one
        subscriber written at once (`_write_encoded`), no `Outbound` made; anything else
        routed as `_route` routes it. ``now`` is the exchange's time and the sessions' both
        (a backtest's one clock). Whether the exchange sent something; None: not that
        message, nothing done (`replay_row` and `_route` it). `Exchange.replay_level` first:
        the same call as `Exchange.replay_market`, the common row in one step. ``hand``: the
        35=X written at once is handed over (`handed`, the caller delivers it) where the
        pipe can (`Pipe.hand_over`; tests/test_handover.py compares it with the pipe's
        write)."""
        exchange = self.exchange
        found = exchange.replay_level(entries, now)  # the common row in one step
        if found is None:
            found = exchange.replay_market(entries, now)
            if found is None:
                return None
        if isinstance(found, list):  # the call's general output
            if found:
                self._route(found, now, hand)
            return bool(found)
        subscribers, body = found
        # the body's values when the exchange made it of values it vouches for (`_Wire.handed`)
        handed = exchange._md._wire.handed
        if handed is not None and handed[0] is not body:
            handed = None
        if (
            len(subscribers) != 1
            or self._dirty
            or self._serving
            or not self._write_encoded(subscribers[0], "X", body, now, hand, handed)
        ):
            self._route([Outbound(s, EncodedMessage("X", body)) for s in subscribers], now)
        return True

    def _write_encoded(
        self,
        session_id: str,
        msg_type: str,
        body: bytes,
        now: float,
        hand: bool = False,
        handed: Any = None,
    ) -> bool:
        """`_route` of one `EncodedMessage` (a replay's market data, the common case: its
        MsgType and body) when no input is being served: sent and written at once
        (`AcceptorDriver.send_encoded_now`), as the loop below and `_flush_dirty` would with no
        fault on; False: not done, nothing sent (a fault is on, or not a connection of an
        `AcceptorDriver`). ``hand``: a pipe's chunk handed over (`handed`) where it can be;
        ``handed``: the body, its shape and its values (`_Wire.handed`), when it has them: the
        frame's handed over with it (`Session.handed`)."""
        faults = self.faults
        if (
            faults.skip_seq
            or faults.duplicate_next
            or faults.garble_next
            or faults.delay
            or faults.drop_after is not None
        ):
            return False
        conn = self._conns.get(session_id)
        if conn is None or type(conn.driver) is not AcceptorDriver:
            return False
        driver = conn.driver
        if not driver.logged_on:
            return True  # nothing sent, as `_route` skips it
        driver.delay = faults.delay  # what `_flush_dirty` sets
        driver.close_after = faults.drop_after
        try:
            data = driver.send_encoded_now(msg_type, body, now, handed)
        except FixError as exc:  # the exchange produced something the session refuses
            self.log.append(f"{conn.session_id}: cannot send 35={msg_type}: {exc}")
            return True
        if data is None:  # something else to do: the whole step
            conn.flush(now)
        elif data:
            transport = conn.transport
            if type(transport) is Pipe:  # `Connection.write`'s simulation case, inline
                # (handed: one whole frame the session built, no fault on, as checked above)
                if hand and transport.hand_over(data):
                    if handed is not None:  # the frame's values, when the session made it of them
                        handed = driver.session.handed
                        if handed is not None and handed[0] is not data:
                            handed = None
                    self.handed = (transport.peer, data, handed)
                else:
                    transport.write(data)
            else:
                conn.write(data, now)
        return True

    def _send_encoded(self, driver: Any, message: EncodedMessage, now: float) -> None:
        """An `EncodedMessage` on a connection: its bytes through the session's
        ``send_encoded``, or its typed message where the driver reads no bytes."""
        send_encoded = getattr(driver, "send_encoded", None)
        if send_encoded is not None:
            send_encoded(message.MSG_TYPE, message.body, now)
        else:
            driver.send(message.message(self._dialect()), now)

    def _dialect(self) -> Any:
        return prediction if self.product == "prediction" else margin

    def _flush_dirty(self, now: float) -> None:
        """Write what each session touched has queued: one write per connection."""
        faults = self.faults
        while self._dirty:
            conn = next(iter(self._dirty))
            del self._dirty[conn]
            driver = conn.driver
            if faults.garble_next:
                faults.garble_next = False
                driver.garble_next()
            driver.delay = faults.delay
            driver.close_after = faults.drop_after
            conn.flush(now)

    def _send_reject(self, conn: Connection, reject: Message, now: float) -> None:
        """Send the exchange's session Reject (35=3) of a malformed field on ``conn``.

        This Reject answers an application message the session already accepted and consumed,
        as Kalshi does for a malformed OrderGroupID; `Session.reject` sends it with the next
        MsgSeqNum (a resend replaces it with a gap fill, as for every admin message).
        """
        session = conn.session
        if session.state is not State.ACTIVE:
            return
        fields: Any = reject
        try:
            session.reject(
                fields.ref_seq_num,
                fields.session_reject_reason,
                now,
                ref_tag_id=fields.ref_tag_id,
                ref_msg_type=fields.ref_msg_type,
                text=fields.text,
            )
        except FixError as exc:  # pragma: no cover - the engine references messages received
            self.log.append(f"{conn.session_id}: cannot send Reject: {exc}")

    def _store_offline(self, out: Outbound, now: float) -> None:
        """A report for a KalshiRT / KalshiPT session whose client is away: keep it for resend."""
        for (key, session_type), sid in self._durable.items():
            if sid != out.session_id:
                continue
            store = self._stores.get((key, session_type))
            if store is None:
                return
            seq = store.next_sender_seq()
            header = Header(
                sender_comp_id=KALSHI_COMP_ID,
                target_comp_id=key,
                msg_seq_num=seq,
                sending_time=sending_time(now),
            )
            dialect = self._dialect()
            message = out.message
            if isinstance(message, EncodedMessage):
                message = message.message(dialect)
            try:
                frame = dialect.encode(
                    message,
                    header,
                    use_dollars=self._durable_dollars.get((key, session_type), False),
                )
            except FixError as exc:  # pragma: no cover - the engine encodes everything it emits
                self.log.append(f"{sid}: cannot store {_name(message)}: {exc}")
                return
            store.save(seq, frame, now)
            return

    # -- the end of a connection -----------------------------------------------------------------

    def _release(self, conn: Connection) -> None:
        """The connection's session is over: free its API key at once."""
        if self._conns.get(conn.session_id) is conn:
            del self._conns[conn.session_id]
        if conn.api_key and self._by_key.get(conn.api_key) == conn.session_id:
            del self._by_key[conn.api_key]

    def drop(self, conn: Connection) -> None:
        """The connection is closing: forget it, and tell the exchange unless a KalshiRT /
        KalshiPT session waits for the client's reconnect."""
        if conn.dropped:
            return
        conn.dropped = True
        self._live.discard(conn)
        self._dirty.pop(conn, None)
        was_current = self._conns.get(conn.session_id) is conn
        self._release(conn)
        key = conn.api_key
        durable = key is not None and (
            self._durable.get((key, conn.session_type)) == conn.session_id
        )
        if conn.logged_on and (was_current or not durable):
            if durable and not conn.cancel_on_disconnect:
                return  # KalshiRT / KalshiPT: the exchange session waits for the reconnect
            if durable and key is not None:
                self._durable.pop((key, conn.session_type), None)
            now = self.timers.time()
            self._route(self.exchange.disconnect(conn.session_id, self.exchange_now(now)), now)


def _wants_settlement(logon: Any) -> bool | None:
    """The Logon's ReceiveSettlementReports(20127); None when left out (margin has none)."""
    flag = getattr(logon, "receive_settlement_reports", None)
    return flag if isinstance(flag, bool) else None


def _name(message: Message | EncodedMessage) -> str:
    """A message's class name for the log (an `EncodedMessage`: its MsgType)."""
    if isinstance(message, EncodedMessage):
        return f"35={message.MSG_TYPE}"
    return type(message).__name__

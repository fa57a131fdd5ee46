"""What a pump is given: the contract between the client, which decides, and a loop's pump,
which moves bytes.

Every user-facing behaviour of a session (its events, ``place``, ``cancel``, ``kill``, the
paced ``send``, catch-up, the kill switch, reconnecting) is decided in the sans-IO core. An
adapter (``kalshi_fix_sansio.adapters.blocking``, ``.asyncio``, ``.trio``, or one you write for
another loop) supplies a **pump** and binds a session class to it; everything it needs is here,
so no adapter reaches into a private module of the package:

* the session and the client it belongs to: `SessionAPI` (what every session shows, whatever
  the loop, of its `Driver`: the driver, made with the session and living across its opens,
  holds all its state, makes the session's pump from the factory it is given and calls it
  through `Pump`; the view adds the user API that does not wait and holds nothing else),
  `ClientBase` (the client factories: ``order_entry()``, ``market_data()`` ...,
  ``from_env``, ``from_key``), `ConnectOptions`, `SessionOptions` (a session's options, made
  once and handed to the driver);
* the user API that waits, over a pump's one wait primitive: `SyncAPI` over a `SyncPump`
  (``drive`` blocks), `AsyncAPI` over an `AsyncPump` (``drive`` is awaited), `SyncKillAll` /
  `AsyncKillAll` (the clients' ``kill_all``), `loop_moves` (the session's loop of
  every pump: connect or wait, `LoopPart`), `pump_task` (it, as the task of an async pump, over
  its loop's connect and wait: `LoopPump`), `deliver` (the awaitable callbacks' runner) and
  `deliver_sync` (a blocking session's callback thread);
* what the pumps share that is book-keeping, not I/O: `PumpParts` (the driver's actions
  dispatched, a connection's facts, the read turn of a pump that reads its socket itself),
  `Deadlines` (one timer for many waits, armed again only when sooner) and `Changes` (the
  callers waiting for a change, each on a future of its own);
* the waits themselves: `Wait` (what a caller waits for, its deadline, what ends it), `drive`
  (run one to its end with a function that waits for a change), `Until`; and `Readers`, the
  rule of who reads the socket while callers wait (the blocking and trio pumps; its table is
  the docs' "Who reads the socket" page), and `IdleHandoff`, its session setting;
* the loop contract's facts and actions are `kalshi_fix_sansio.client.steps` (public already), the
  driver `kalshi_fix_sansio.client.driver.Driver`;
* what a pump needs to connect: the rules its TLS context meets, as words and verdicts
  (`judge_weaknesses`: a context weaker than the library's refused or warned;
  `refuse_context`: a caller's context that is not one, a server's, or given for plain TCP;
  `refuse_rest_trust`: a REST companion's trust or timeout that is neither;
  `TLS12_CIPHERS`: the TLS 1.2 cipher suites of the library's context;
  `refused_certificate_text`: a refused certificate in words), while the pump builds and
  inspects the context itself from the session's options, which hold TLS settings as data
  (``make_ssl_context``, ``ssl_context_for``, ``connect_error``, ``WOULD_BLOCK`` are the
  adapters' own: `kalshi_fix_sansio.adapters`), `loopback_addresses` (plain TCP only to
  checked loopback addresses), `READ_CHUNK`, `IDLE_HANDOFF`, `MAX_QUEUED_EVENTS`;
* what a REST companion calls of a reconciliation round (the session's, under its lock):
  `RestPort`; a session's companion in the background, its failure the driver's:
  `serve_rest` (a thread) and `aserve_rest` (a task);
* an acceptor's side, for a server such as the mock gateway: `AcceptorDriver` (one accepted
  connection's session and its loop's rules) and `DEFAULT_MAX_BUFFERED`;
* a pump that runs in memory on a simulated clock is one of
  `kalshi_fix_sansio.simulator.world._inmemory` (the simulation's link, `MemoryLink`, and sessions).

What a pump must do is one table of the adapters' guide ("Writing a pump"): perform `Write`
(in order, logged to ``driver.message_log``; what the socket does not take waits, then
`Buffered`), `Disconnect`, and note `WakeAt` / `Connect` / `FINISHED` in an `Agenda`; step what
its loop tells it (`START`, `CONNECTED`, ``driver.received(Received(data))``,
`ConnectFailed`, `Lost`, `WOKE`, `CLOSE`); run a caller's wait with `drive` and its loop's wait
for a change, waking the waiting callers after each step.
"""

from __future__ import annotations

from ..rest import RestPort
from ._acceptor import AcceptorDriver
from ._asyncapi import (
    AsyncAPI,
    AsyncKillAll,
    AsyncPump,
    LoopPart,
    LoopPump,
    aserve_rest,
    deliver,
    loop_moves,
    pump_task,
)
from ._callers import Until, Wait, any_event, drive, drive_next_event
from ._clientbase import ClientBase
from ._clientoptions import ConnectOptions, SessionOptions
from ._endpoints import loopback_addresses
from ._loop import DEFAULT_MAX_BUFFERED
from ._pumpparts import Changes, Deadlines, PumpParts
from ._readers import IdleHandoff, Readers
from ._sessionapi import IDLE_HANDOFF, SessionAPI
from ._syncapi import SyncAPI, SyncKillAll, SyncPump, deliver_sync, serve_rest
from ._tlsconfig import (
    TLS12_CIPHERS,
    judge_weaknesses,
    refuse_context,
    refuse_rest_trust,
    refused_certificate_text,
)
from ._transport import READ_CHUNK
from .steps import Pump

__all__ = [
    "DEFAULT_MAX_BUFFERED",
    "IDLE_HANDOFF",
    "READ_CHUNK",
    "TLS12_CIPHERS",
    "AcceptorDriver",
    "AsyncAPI",
    "AsyncKillAll",
    "AsyncPump",
    "Changes",
    "ClientBase",
    "ConnectOptions",
    "Deadlines",
    "IdleHandoff",
    "LoopPart",
    "LoopPump",
    "Pump",
    "PumpParts",
    "Readers",
    "RestPort",
    "SessionAPI",
    "SessionOptions",
    "SyncAPI",
    "SyncKillAll",
    "SyncPump",
    "Until",
    "Wait",
    "any_event",
    "aserve_rest",
    "deliver",
    "deliver_sync",
    "drive",
    "drive_next_event",
    "judge_weaknesses",
    "loop_moves",
    "loopback_addresses",
    "pump_task",
    "refuse_context",
    "refuse_rest_trust",
    "refused_certificate_text",
    "serve_rest",
]

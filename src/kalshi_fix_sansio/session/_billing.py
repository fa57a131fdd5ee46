"""Rate billing: one of the parts a `Session` is built from (with ``SessionConfig.rate_limiter``).

`RateBilling` holds a session's `RateLimiter`: the session asks ``limiter.check`` for a delay
and sends through `send`, which bills with ``limiter.reserve`` before anything is encoded
(raising `RateLimitExceeded`; checked and billed in one step, so that sessions sharing the
limiter from threads of their own cannot both take the last tokens) and ``limiter.refund``s
when the message could not be sent after all. Once the message is numbered and queued, `sent`
remembers what each MsgSeqNum was billed,
so that a `RateLimited` (35=j 380=8) drains exactly the buckets the refused message took
(`learn`). Session messages are never billed.
"""

from __future__ import annotations

from collections.abc import Callable

from ..codec import Message
from .events import RateLimited
from .ratelimit import Charge, RateLimiter

__all__ = ["RateBilling"]

BILLS_KEPT = 1024
"""MsgSeqNum -> charges of the last messages billed, kept for a `RateLimited`."""


class RateBilling:
    """A session's rate limiter and what it billed per MsgSeqNum.

    Args:
        limiter: the rate limiter (shared by the sessions of one account, or not).
        kept: how many of the last messages' charges are remembered.
    """

    __slots__ = ("_billed", "_kept", "limiter")

    def __init__(self, limiter: RateLimiter, kept: int = BILLS_KEPT) -> None:
        self.limiter = limiter
        self._billed: dict[int, list[Charge]] = {}
        self._kept = kept

    def send(self, send: Callable[[Message, float], int], message: Message, now: float) -> int:
        """``send(message, now)`` billed: the limiter's `reserve` first (raising
        `RateLimitExceeded` before anything is encoded or stored), its `refund` if ``send``
        raises, and the charges remembered under the MsgSeqNum it returns."""
        limiter = self.limiter
        charges = limiter.reserve(message, now)
        try:
            seq = send(message, now)
        except BaseException:
            limiter.refund(charges, now)
            raise
        self.sent(seq, charges)
        return seq

    def sent(self, seq: int, charges: list[Charge]) -> None:
        """The message billed ``charges`` went out numbered ``seq``: remember them."""
        billed = self._billed
        billed[seq] = charges
        if len(billed) > self._kept:
            del billed[next(iter(billed))]

    def learn(self, event: RateLimited, now: float) -> None:
        """Kalshi's count ran ahead of ours: drain the buckets the refused message billed (those
        of its RefMsgType when its charges are no longer remembered)."""
        charges = None
        if isinstance(event.ref_seq_num, int):
            charges = self._billed.get(event.ref_seq_num)
        self.limiter.learn(event, now, charges)

"""kalshi-sdk's spellings over the client's own: its three session callbacks as one
``on_event`` (`SdkCallbacks`) and its ``from_auth`` key holder as `Credentials`. Thin by design:
nothing here runs unless a user passes these spellings."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio.client.supervisor import SupervisorState
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.auth import Ed25519Signer, RsaPssSigner, Signer
from kalshi_fix_sansio.session.events import ApplicationMessage, DecodeFailure, Event

from ..session import Credentials
from ._clientoptions import refuse_type


def _run_in_order(steps: Sequence[Callable[[], object]]) -> Awaitable[None] | None:
    """Call ``steps`` one after the other; from the first that returns an awaitable on, the
    rest run in the coroutine returned (each awaitable awaited before the next step), which
    the async adapters await like any ``on_event`` result."""
    for i, step in enumerate(steps):
        result = step()
        if inspect.isawaitable(result):
            return _finish_in_order(result, steps[i + 1 :])
    return None


async def _finish_in_order(first: Awaitable[object], rest: Sequence[Callable[[], object]]) -> None:
    await first
    for step in rest:
        result = step()
        if inspect.isawaitable(result):
            await result


class SdkCallbacks:
    """kalshi-sdk's three session callbacks as one ``on_event`` (what `ClientBase.session`
    makes of ``on_message``, ``on_state_change`` and ``on_decode_error``).

    For each event, in this order: ``on_state_change(old, new)`` when the session's
    `SupervisorState` differs from the one last reported (the first call's ``old`` is
    ``SupervisorState.IDLE``); ``on_message(message)`` with the typed message of an
    `ApplicationMessage`; ``on_decode_error(raw, error)`` with the frame and the `DecodeError`
    of a `DecodeFailure`; then ``on_event(event)``, if given too, with every event. The state
    is read when the event is delivered: a state the session passed through between two
    deliveries is not reported, and neither is one reached after the last event (the state
    after `close` is the session's ``supervisor.state``).

    Args:
        on_message: called with each application message received.
        on_state_change: called with the previous and the new `SupervisorState`.
        on_decode_error: called with the raw frame and the error of a message that could not
            be decoded.
        on_event: called with every event (after the three above).
    """

    __slots__ = ("on_decode_error", "on_event", "on_message", "on_state_change", "session", "state")

    def __init__(
        self,
        on_message: Callable[[Any], object] | None,
        on_state_change: Callable[[SupervisorState, SupervisorState], object] | None,
        on_decode_error: Callable[[bytes, Exception], object] | None,
        on_event: Callable[[Event], object] | None,
    ) -> None:
        self.on_message, self.on_state_change = on_message, on_state_change
        self.on_decode_error, self.on_event = on_decode_error, on_event
        self.session: Any = None
        """The session the callbacks belong to (set once it is made): its ``supervisor``."""
        self.state = SupervisorState.IDLE
        """The state last reported to ``on_state_change``."""

    def __call__(self, event: Event) -> Awaitable[None] | None:
        steps: list[Callable[[], object]] = []
        if self.on_state_change is not None:
            supervisor = self.session.supervisor if self.session is not None else None
            if supervisor is not None and supervisor.state is not self.state:
                old, self.state = self.state, supervisor.state
                steps.append(functools.partial(self.on_state_change, old, self.state))
        if isinstance(event, ApplicationMessage):
            if self.on_message is not None:
                steps.append(functools.partial(self.on_message, event.message))
        elif isinstance(event, DecodeFailure) and self.on_decode_error is not None:
            steps.append(functools.partial(self.on_decode_error, event.raw, event.error))
        if self.on_event is not None:
            steps.append(functools.partial(self.on_event, event))
        return _run_in_order(steps)


def sdk_callbacks(
    client: str,
    awaits: bool,
    on_message: object,
    on_state_change: object,
    on_decode_error: object,
    on_event: object,
) -> SdkCallbacks:
    """The `SdkCallbacks` of a session of ``client`` (a client class's name), each callback
    checked: a function or None, and no coroutine function where the client never awaits
    (``awaits`` False: the blocking client)."""
    given = {
        "on_message": on_message,
        "on_state_change": on_state_change,
        "on_decode_error": on_decode_error,
        "on_event": on_event,
    }
    for name, callback in given.items():
        if callback is None:
            continue
        if not callable(callback):
            raise refuse_type(name, callback, "a function (or None)")
        if not awaits and inspect.iscoroutinefunction(callback):
            raise LocalProtocolError(
                f"{name} is a coroutine function ({getattr(callback, '__name__', callback)}"
                f"), but {client} is the blocking client: it calls callbacks "
                "in a thread and would never await it. Pass a plain function, or use the "
                "asyncio or trio client"
            )
    return SdkCallbacks(on_message, on_state_change, on_decode_error, on_event)  # type: ignore[arg-type]


def credentials_from_auth(auth: object) -> Credentials:
    """The `Credentials` of an object holding an API key, as kalshi-sdk's ``KalshiAuth`` does:
    a ``key_id`` and a ``private_key`` (a `cryptography` RSA or Ed25519 private key object),
    used as loaded.

    Raises:
        LocalProtocolError: ``auth`` has no ``key_id`` or ``private_key``.
        KeyLoadError: the private key is neither RSA (at least 2048 bits) nor Ed25519.
    """
    missing = [name for name in ("key_id", "private_key") if not hasattr(auth, name)]
    if missing:
        raise LocalProtocolError(
            f"from_auth needs an object with key_id and private_key (as kalshi-sdk's "
            f"KalshiAuth has); a {type(auth).__name__} has no {' or '.join(missing)}"
        )
    key = getattr(auth, "private_key")  # noqa: B009  (duck-typed: any object holding a key)
    signer: Signer
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signer = Ed25519Signer(key)
    else:
        signer = RsaPssSigner(key)  # its error names what the key is when it is not RSA
    return Credentials(getattr(auth, "key_id"), signer)  # noqa: B009

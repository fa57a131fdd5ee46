"""Test tooling: keys and an in-memory session pair, samples, fault relays, simulation testing.

`SessionPair` connects an initiator and an acceptor `Session` through memory (h11's
ConnectionPair idea): every byte one side queues is delivered to the other when you `pump`.
`kalshi_fix_sansio.simulator.testing.samples` holds realistic sample messages of both products (the
frames ``kalshi-fix decode --sample`` prints). `kalshi_fix_sansio.simulator.testing.relay.FaultRelay` (a
module of its own: it uses sockets, this one does not) sits between a client and a server on
loopback and resets, closes, stalls or blackholes their connections from outside both programs.
`kalshi_fix_sansio.simulator.testing.dst` is deterministic simulation testing (``kalshi-fix
simulate``); `recordings` and `strategies` are the recordings and strategies the docs and tests
run.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ...codec.errors import RemoteProtocolError
from ...session.auth import Ed25519Signer, PublicKey, RsaPssSigner
from ...session.config import KALSHI_COMP_ID, Role, SessionConfig
from ...session.events import Event
from ...session.machine import Session

__all__ = ["SessionPair", "Side", "new_ed25519_keys", "new_rsa_keys"]


def new_ed25519_keys() -> tuple[Ed25519Signer, PublicKey]:
    """A fresh Ed25519 key pair (fast to generate).

    Returns:
        The signer and its public key.
    """
    signer = Ed25519Signer(ed25519.Ed25519PrivateKey.generate())
    return signer, signer.public_key()


def new_rsa_keys() -> tuple[RsaPssSigner, PublicKey]:
    """A fresh RSA-2048 key pair (takes ~0.1 s).

    Returns:
        The signer and its public key.
    """
    signer = RsaPssSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return signer, signer.public_key()


@attrs.define
class Side:
    """One end of a `SessionPair` with the events it produced."""

    session: Session
    events: list[Event] = attrs.field(factory=list)
    error: RemoteProtocolError | None = None


class SessionPair:
    """An initiator and an acceptor wired together in memory.

    Args:
        client: the initiator's config (role initiator).
        server: the acceptor's config (role acceptor).
        now: the starting time.
        filter_bytes: optional hook applied to bytes client -> server (``c2s``) and
            server -> client (``s2c``): return the bytes to deliver (drop, duplicate, corrupt).
    """

    def __init__(
        self,
        client: SessionConfig,
        server: SessionConfig,
        now: float = 1_800_000_000.0,
        filter_bytes: Callable[[str, bytes], bytes] | None = None,
    ) -> None:
        self.client = Side(Session(client))
        self.server = Side(Session(server))
        self.now = now
        self.filter_bytes = filter_bytes

    @classmethod
    def kalshi(
        cls,
        product: str = "prediction",
        session_type: str = "KalshiNR",
        api_key: str = "key-1",
        now: float = 1_800_000_000.0,
        **client_options: object,
    ) -> SessionPair:
        """A client of `session_type` and a matching acceptor with a fresh Ed25519 key.

        Args:
            product: ``"prediction"`` or ``"margin"``.
            session_type: the Kalshi session type.
            api_key: the client's SenderCompID.
            now: the starting time.
            **client_options: more `SessionConfig` fields for the client.

        Returns:
            The pair, not started.
        """
        signer, public = new_ed25519_keys()
        client = SessionConfig(
            sender_comp_id=api_key,
            product=product,
            session_type=session_type,
            signer=signer,
            **client_options,  # type: ignore[arg-type]
        )
        server = SessionConfig(
            sender_comp_id=KALSHI_COMP_ID,
            product=product,
            session_type=session_type,
            role=Role.ACCEPTOR,
            public_keys={api_key: public},
        )
        return cls(client, server, now)

    def start(self) -> None:
        """Start both sides and pump until quiet."""
        self.server.session.start(self.now)
        self.client.session.start(self.now)
        self.pump()

    def advance(self, seconds: float) -> None:
        """Move time forward, fire due timers on both sides and pump."""
        self.now += seconds
        for side in (self.client, self.server):
            deadline = side.session.next_deadline()
            if deadline is not None and deadline <= self.now and side.error is None:
                side.session.handle_timer(self.now)
        self.pump()

    def pump(self, rounds: int = 100) -> None:
        """Deliver queued bytes both ways until neither side has anything to send."""
        for _ in range(rounds):
            moved = False
            for src, dst, direction in (
                (self.client, self.server, "c2s"),
                (self.server, self.client, "s2c"),
            ):
                data = src.session.data_to_send()
                if self.filter_bytes is not None and data:
                    data = self.filter_bytes(direction, data)
                if data:
                    moved = True
                    if dst.error is None:
                        dst.session.receive_data(data, self.now)
                self._collect(dst)
                self._collect(src)
            if not moved:
                return

    @staticmethod
    def _collect(side: Side) -> None:
        if side.error is not None:
            return
        try:
            side.events.extend(side.session.events())
        except RemoteProtocolError as exc:
            side.error = exc

"""The FIX session: one FIXT.1.1 session as a sans-IO state machine.

`machine.Session` (bytes in, events and bytes out, time passed in by the caller), its
configuration (`config`), its events (`events`), the parts it is built from (inbound checks,
outbound writer, gap recovery, rate billing), its stores (`store`, `filestore`), Kalshi's rate
limits (`ratelimit`) and the Logon signature (`auth`).

May import: the codec and the dialect modules (`kalshi_fix_sansio.codec.prediction`, `.margin`).
"""

from ._credentials import Credentials
from ._statedoc import render_page
from ._states import (
    State,
    SupervisorAction,
    SupervisorInput,
    SupervisorState,
    supervisor_transition,
)

__all__ = [
    "Credentials",
    "State",
    "SupervisorAction",
    "SupervisorInput",
    "SupervisorState",
    "render_page",
    "supervisor_transition",
]

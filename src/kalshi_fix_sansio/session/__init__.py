"""The FIX session: one FIXT.1.1 session as a sans-IO state machine.

`machine.Session` (bytes in, events and bytes out, time passed in by the caller), its
configuration (`config`), its events (`events`), the parts it is built from (inbound checks,
outbound writer, gap recovery, rate billing), its stores (`store`, `filestore`), Kalshi's rate
limits (`ratelimit`) and the Logon signature (`auth`).

Its face names what the floors above use of it (not the user API, which is
`kalshi_fix_sansio` and the public modules). May import: the codec (with its dialect modules).
Never a network, loop or clock module (socket, ssl, asyncio, trio, selectors, select,
time: the ``sansio`` contract); time is an argument.
"""

from ._credentials import (
    Credentials as Credentials,
)
from ._statedoc import (
    render_page as render_page,
)
from ._states import (
    State as State,
)
from ._states import (
    SupervisorAction as SupervisorAction,
)
from ._states import (
    SupervisorInput as SupervisorInput,
)
from ._states import (
    SupervisorState as SupervisorState,
)
from ._states import (
    supervisor_transition as supervisor_transition,
)

"""What a session shows of itself: metrics and the FIX message log (writing and reading).

Its face names what the floors above use of it (not the user API, which is
`kalshi_fix_sansio` and the public modules). May import: the session layer and below.
Never a network, loop or clock module (socket, ssl, asyncio, trio, selectors, select,
time: the ``sansio`` contract); time is an argument.
"""

from ._logreader import (
    Entry as Entry,
)
from ._logreader import (
    LogIssue as LogIssue,
)
from ._logreader import (
    LogReader as LogReader,
)
from ._logreader import (
    Reporter as Reporter,
)
from ._logreader import (
    parse_time as parse_time,
)
from ._logreader import (
    session_feeds as session_feeds,
)
from ._logwriter import (
    MESSAGE_LOGGER_NAME as MESSAGE_LOGGER_NAME,
)
from ._logwriter import (
    MessageLog as MessageLog,
)
from ._logwriter import (
    MessageLogError as MessageLogError,
)

"""What a session shows of itself: metrics and the FIX message log (writing and reading).

May import: the session layer and below.
"""

from ._logreader import Entry, LogIssue, LogReader, Reporter, parse_time, session_feeds
from ._logwriter import MESSAGE_LOGGER_NAME, MessageLog, MessageLogError

__all__ = [
    "MESSAGE_LOGGER_NAME",
    "Entry",
    "LogIssue",
    "LogReader",
    "MessageLog",
    "MessageLogError",
    "Reporter",
    "parse_time",
    "session_feeds",
]

"""The spec's tables, generated from ``spec/``: every tag, message type and session type.

For tools built on the library (the CLI's `decode`, a log viewer, a router): `FIELDS` maps a tag
to its name, FIX type, attribute name, products and description; `MESSAGES` a MsgType to its
name, category and products; `SESSIONS` a (product, session type) to its port, host,
retransmission, Logon flags and the messages it sends and receives; `ENVIRONMENTS` the hosts.
"""

from ._generated.tables import (
    ENVIRONMENTS,
    FIELDS,
    MESSAGES,
    SESSIONS,
    FieldSpec,
    MessageSpec,
    SessionSpec,
)

__all__ = [
    "ENVIRONMENTS",
    "FIELDS",
    "MESSAGES",
    "SESSIONS",
    "FieldSpec",
    "MessageSpec",
    "SessionSpec",
]

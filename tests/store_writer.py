"""Write to a `FileStore` until killed: the subprocess of the SIGKILL test (``test_store_crash.py``).

Usage::

    python tests/store_writer.py PATH [COMPACT_BYTES] [COMPACT_EVERY]

Opens the store at PATH (continuing whatever a previous, killed run left there) and loops
forever, like a session that receives a message for each one it sends and sends a heartbeat now
and then:

* ``set_next_target_seq(n)`` with a growing ``n`` (an inbound message),
* every 5th turn ``set_next_sender_seq(next + 1)`` (an admin message, not stored), printing
  ``H <seq>`` once it returned,
* ``save(next_sender_seq, frame_for(seq), now=seq)``, printing ``S <seq> <n>`` once it returned,
* after each save of a multiple of COMPACT_EVERY, an explicit `FileStore.compact`, between the
  lines ``C`` and ``c`` (automatic compaction is on too, at COMPACT_BYTES, but this traffic seldom
  makes the log twice its live size, so the explicit ones are what kills hit).

Each line is flushed as soon as the call it reports has completed, so the parent knows what the
store has promised when it kills the process. Nothing is ever pruned: every printed seq must be
readable after the kill.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


def load_store_module() -> Any:
    """Import `kalshi_fix_sansio.session.filestore` without running the package's ``__init__``.

    The package ``__init__`` loads the generated codecs (~0.25 s); the SIGKILL test starts this
    script 50+ times and only needs the store, so the package is registered as a bare module
    object and just the file store (and what it imports) is loaded.

    Returns:
        The ``kalshi_fix_sansio.session.filestore`` module.
    """
    if "kalshi_fix_sansio" not in sys.modules:
        spec = importlib.util.find_spec("kalshi_fix_sansio")
        assert spec is not None and spec.submodule_search_locations is not None
        package = types.ModuleType("kalshi_fix_sansio")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["kalshi_fix_sansio"] = package
    return importlib.import_module("kalshi_fix_sansio.session.filestore")


def frame_for(seq: int) -> bytes:
    """The frame the writer saves under ``seq``: deterministic, of varying length.

    Args:
        seq: the MsgSeqNum.

    Returns:
        A FIX-looking frame that names ``seq`` (its length varies with ``seq``).
    """
    body = b"35=D\x0134=%d\x0158=%s\x01" % (seq, b"%d;" % seq * (1 + seq % 13))
    return b"8=FIXT.1.1\x019=%d\x01%s10=%03d\x01" % (len(body), body, sum(body) % 256)


def main(argv: list[str]) -> None:
    """Run the writer loop (never returns).

    Args:
        argv: ``[script, PATH, COMPACT_BYTES?, COMPACT_EVERY?]``.
    """
    path = argv[1]
    compact_bytes = int(argv[2]) if len(argv) > 2 else 4096
    compact_every = int(argv[3]) if len(argv) > 3 else 1000
    store = load_store_module().FileStore(path, compact_bytes=compact_bytes)
    out = sys.stdout
    n = store.next_target_seq()
    turns = 0
    while True:
        turns += 1
        n += 1
        store.set_next_target_seq(n)
        if turns % 5 == 0:
            beat = store.next_sender_seq()
            store.set_next_sender_seq(beat + 1)
            out.write(f"H {beat}\n")
        seq = store.next_sender_seq()
        store.save(seq, frame_for(seq), float(seq))
        out.write(f"S {seq} {n}\n")
        out.flush()
        if seq % compact_every == 0:
            out.write("C\n")
            out.flush()
            store.compact()
            out.write("c\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv)

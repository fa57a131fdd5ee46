"""Write to a `FileStore` until killed: the subprocess of the SIGKILL test in ``test_store.py``.

Usage::

    python tests/store_writer.py PATH [COMPACT_BYTES] [COMPACT_EVERY]

Opens the store at PATH (continuing whatever a previous, killed run left there) and loops
forever, like a session that receives three messages for each one it sends and sends a heartbeat
now and then:

* ``set_next_target_seq(n)`` three times with a growing ``n`` (inbound messages),
* every 5th turn ``set_next_sender_seq(next + 1)`` (an admin message, not stored), printing
  ``H <seq>`` once it returned,
* ``save(next_sender_seq, frame_for(seq), now=seq)``, printing ``S <seq> <n>`` once it returned,
* every COMPACT_EVERY turns an explicit `FileStore.compact`, between the lines ``C`` and ``c``
  (automatic compactions also run, at COMPACT_BYTES).

Each line is flushed as soon as the call it reports has completed, so the parent knows what the
store has promised when it kills the process. Nothing is ever pruned: every printed seq must be
readable after the kill.
"""

from __future__ import annotations

import sys

from kalshi_fix_sansio.store import FileStore


def frame_for(seq: int) -> bytes:
    """The frame the writer saves under ``seq``: deterministic, of varying length.

    Args:
        seq: the MsgSeqNum.

    Returns:
        A FIX-looking frame that names ``seq`` and is 50-150 bytes long.
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
    compact_every = int(argv[3]) if len(argv) > 3 else 150
    store = FileStore(path, compact_bytes=compact_bytes)
    out = sys.stdout
    n = store.next_target_seq()
    turn = 0
    while True:
        turn += 1
        for _ in range(3):
            n += 1
            store.set_next_target_seq(n)
        if turn % 5 == 0:
            beat = store.next_sender_seq()
            store.set_next_sender_seq(beat + 1)
            out.write(f"H {beat}\n")
        seq = store.next_sender_seq()
        store.save(seq, frame_for(seq), float(seq))
        out.write(f"S {seq} {n}\n")
        out.flush()
        if turn % compact_every == 0:
            out.write("C\n")
            out.flush()
            store.compact()
            out.write("c\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv)

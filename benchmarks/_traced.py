"""What the count benchmarks share: a child process under callgrind or strace, and its counts;
and the two small C libraries `bench_tick.py` builds with the machine's C compiler.

`bench_instructions.py` (instructions and syscalls per order) and `bench_tick.py` (instructions
per tick) run a client in a child process of their own under ``valgrind --tool=callgrind``
(``PYTHONHASHSEED=0``: the same hashes every run) or ``strace -f -c``, and read the count back
from the tool's output file. A figure per order (or tick) is the difference of two runs of
different lengths divided by the difference of their lengths: start-up and Logon cancel out.

`window_library` switches callgrind's counting on and off from Python; `socket_library` is
preloaded into a client (``LD_PRELOAD``) to timestamp its socket system calls.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOOLS = {"callgrind": "valgrind", "strace": "strace"}  # tool -> the program that runs it


def traced(
    tool: str, cmd: list[str], out: Path, *, collect_at_start: bool = True
) -> tuple[list[str], dict[str, str]]:
    """``cmd`` run under ``tool`` ("callgrind" or "strace") writing to ``out``, and its
    environment (``PYTHONHASHSEED=0``). ``collect_at_start=False``: callgrind counts nothing
    until the program turns counting on (`window_library`)."""
    if tool == "callgrind":
        lead = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        if not collect_at_start:
            lead.append("--collect-atstart=no")
        cmd = [*lead, *cmd]
    elif tool == "strace":
        cmd = ["strace", "-f", "-c", "-o", str(out), *cmd]
    else:
        raise ValueError(f"unknown tool {tool!r}")
    return cmd, {**os.environ, "PYTHONHASHSEED": "0"}


# callgrind's client request, as valgrind's own header spells it, in a function ctypes can call
WINDOW_SOURCE = """\
#include <valgrind/callgrind.h>
void kfs_toggle_collect(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def window_library(directory: Path) -> Path | str:
    """Build the shared library whose ``kfs_toggle_collect()`` turns callgrind's counting on
    or off, for the calling thread only (callgrind keeps that state per thread), so that a run
    under ``collect_at_start=False`` counts exactly the instructions between two calls: its
    path, or why it cannot be built here (no C compiler, or no ``valgrind/callgrind.h``)."""
    return _build(directory, "kfs_window", WINDOW_SOURCE, "the callgrind counting switch")


# The socket system calls' timestamps, preloaded into a client process: every libc call that
# reads or writes a file descriptor is wrapped; on a TCP socket (checked once per descriptor,
# forgotten when it is closed) a read that returned bytes leaves CLOCK_MONOTONIC at its return
# in the calling thread's `last_read`, and while a slot is armed (`kfs_arm`) the first write
# leaves the time it was called in that slot. time.perf_counter() reads the same clock on Linux.
SOCKET_SOURCE = """\
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FDS 65536
#define SLOTS 65536
static unsigned char kind[FDS]; /* 0 not seen yet, 1 TCP socket, 2 anything else */
static int64_t written[SLOTS];
static int armed = -1;
static __thread int64_t last_read;

/* libc's own functions, looked up on first use (a library's constructor may read a file
   before this one's would run) */
static void *resolve(void **slot, const char *name) {
    if (*slot == NULL) *slot = dlsym(RTLD_NEXT, name);
    return *slot;
}
#define REAL(name) ((__typeof__(real_##name))resolve((void **)&real_##name, #name))
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_close)(int);
static int (*real_socket)(int, int, int);

static int64_t now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int tcp(int fd) {
    if (fd < 0 || fd >= FDS) return 0;
    if (kind[fd] == 0) {
        int type = 0, domain = 0;
        socklen_t a = sizeof type, b = sizeof domain;
        int ok = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &a) == 0
            && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &b) == 0
            && type == SOCK_STREAM && (domain == AF_INET || domain == AF_INET6);
        kind[fd] = ok ? 1 : 2;
    }
    return kind[fd] == 1;
}

static ssize_t got(int fd, ssize_t n) {
    if (n > 0) {
        int64_t t = now();
        if (tcp(fd)) last_read = t;
    }
    return n;
}

static void sending(int fd) {
    if (__atomic_load_n(&armed, __ATOMIC_ACQUIRE) < 0) return;
    int64_t t = now();
    if (!tcp(fd)) return;
    int slot = __atomic_exchange_n(&armed, -1, __ATOMIC_ACQ_REL);
    if (slot >= 0) written[slot] = t;
}

ssize_t read(int fd, void *b, size_t n) { return got(fd, REAL(read)(fd, b, n)); }
ssize_t readv(int fd, const struct iovec *v, int c) { return got(fd, REAL(readv)(fd, v, c)); }
ssize_t recv(int fd, void *b, size_t n, int f) { return got(fd, REAL(recv)(fd, b, n, f)); }
ssize_t recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l) {
    return got(fd, REAL(recvfrom)(fd, b, n, f, a, l));
}
ssize_t recvmsg(int fd, struct msghdr *m, int f) { return got(fd, REAL(recvmsg)(fd, m, f)); }
ssize_t write(int fd, const void *b, size_t n) { sending(fd); return REAL(write)(fd, b, n); }
ssize_t writev(int fd, const struct iovec *v, int c) { sending(fd); return REAL(writev)(fd, v, c); }
ssize_t send(int fd, const void *b, size_t n, int f) { sending(fd); return REAL(send)(fd, b, n, f); }
ssize_t sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l) {
    sending(fd);
    return REAL(sendto)(fd, b, n, f, a, l);
}
ssize_t sendmsg(int fd, const struct msghdr *m, int f) { sending(fd); return REAL(sendmsg)(fd, m, f); }
int close(int fd) {
    if (fd >= 0 && fd < FDS) kind[fd] = 0;
    return REAL(close)(fd);
}
int socket(int domain, int type, int protocol) {
    int fd = REAL(socket)(domain, type, protocol);
    if (fd >= 0 && fd < FDS) kind[fd] = 0;
    return fd;
}

/* for the client's Python code (ctypes) */
int64_t kfs_last_read(void) { return last_read; }
void kfs_arm(int slot) {
    if (slot >= 0 && slot < SLOTS) {
        written[slot] = 0;
        __atomic_store_n(&armed, slot, __ATOMIC_RELEASE);
    }
}
int64_t kfs_written(int slot) { return slot >= 0 && slot < SLOTS ? written[slot] : 0; }
"""


def socket_library(directory: Path) -> Path | str:
    """Build the library that timestamps a client's socket system calls when preloaded into it
    (``LD_PRELOAD``; `SOCKET_SOURCE`): ``kfs_last_read()``, the CLOCK_MONOTONIC nanoseconds at
    which the calling thread's last read of a TCP socket returned bytes; ``kfs_arm(slot)``,
    then ``kfs_written(slot)``, when the next write to a TCP socket (any thread) was called.
    Its path, or why it cannot be built here."""
    return _build(directory, "kfs_sockets", SOCKET_SOURCE, "the socket timestamps library")


def _build(directory: Path, name: str, source: str, what: str) -> Path | str:
    """Compile ``source`` into ``directory/name.so`` with the machine's C compiler: its path,
    or why it could not be built (``what`` names it)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return f"no C compiler (cc or gcc) to build {what}"
    source_file, lib = directory / f"{name}.c", directory / f"{name}.so"
    source_file.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [cc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(source_file), "-ldl"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"building {what} failed: {done.stderr.strip()[-300:]}"
    return lib


def counted(tool: str, out: Path) -> int | tuple[int, int]:
    """What a traced run counted: callgrind's instructions, strace's (syscalls, futex)."""
    text = out.read_text(encoding="utf-8", errors="replace")
    return callgrind_total(text) if tool == "callgrind" else strace_counts(text)


def callgrind_total(text: str) -> int:
    """The instructions (Ir) a callgrind output file counts: its ``totals:`` or ``summary:``."""
    found = re.search(r"^(?:totals|summary):\s+(\d+)", text, re.M)
    if found is None:
        raise ValueError("no totals/summary line in the callgrind output")
    return int(found.group(1))


def strace_counts(text: str) -> tuple[int, int]:
    """(all system calls, futex calls) from ``strace -c`` output (summed over its rows)."""
    total = futex = 0
    for line in text.splitlines():
        cols = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(cols) < 5 or not cols[0][0].isdigit() or cols[-1] == "total":
            continue
        calls = int(cols[3])
        total += calls
        if cols[-1] == "futex":
            futex += calls
    return total, futex


def tools_missing() -> dict[str, str]:
    """Tool -> why it cannot run here (not on PATH)."""
    return {
        tool: f"`{exe}` not installed" for tool, exe in TOOLS.items() if shutil.which(exe) is None
    }


def per_unit(counts: dict[int, Any], pick: Callable[[Any], int] = int) -> float | None:
    """(count of the longer run - count of the shorter) / (the difference of their lengths);
    ``counts`` maps a run's length to what it counted (``pick`` reads the figure)."""
    if len(counts) < 2:
        return None
    lo, hi = min(counts), max(counts)
    return (pick(counts[hi]) - pick(counts[lo])) / (hi - lo)

"""Idle helper threads that take a part of one ask's work beside the thread that asks.

Two parts of an ask wait on C code that releases the GIL: FAISS's scan of every stored
vector (kb.index) and SQLite's walk over a word's occurrences (kb.lexical_bm25). On this
two-core machine a second thread does half of either in the same time. A part goes to a
helper only when one is idle at that moment, never into a queue: under many concurrent asks
each does its own parts on its own thread, as before, and none waits for another's work.

Nor is a part handed over while as many asks are working as there are helpers (`working`,
counted by kb.retrieve): a second core then already has an ask of its own, and splitting
only adds the hand-over's cost; nor while other processes keep every core busy
(`system_runnable`). Measured in one process at 100,000 chunks, splitting on
every ask cost ~9 ms of CPU an ask (two e5 streams each pay the per-layer overhead) and 7 %
of the throughput of 8 concurrent askers, for 4.5 ms less wall time an ask alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_LOADAVG: list[int | None] = []
"""/proc/loadavg kept open (read again at offset 0), or None: not usable (`system_runnable`)."""


def system_runnable() -> int | None:
    """Threads running or ready to run on the machine at this moment, the caller included
    (the fourth field of /proc/loadavg, "running/total"); None where that does not describe
    the cores this process runs on (not Linux, or a process pinned to some of a larger
    machine's cores, a container's, whose count would be the host's). A few us: the file
    is opened once."""
    if not _LOADAVG:
        try:
            usable = os.cpu_count() == _cores()
            _LOADAVG.append(os.open("/proc/loadavg", os.O_RDONLY) if usable else None)
        except OSError:
            _LOADAVG.append(None)
    fd = _LOADAVG[0]
    if fd is None:
        return None
    try:
        return int(os.pread(fd, 128, 0).split()[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None


class IdleHelpers:
    """As many helper threads as the process has cores but one (none on one core).

    `runnable` counts the machine's threads ready to run, the caller included
    (`system_runnable`; None: unknown, the machine's other work not looked at)."""

    def __init__(
        self,
        count: int | None = None,
        runnable: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.count = max(_cores() - 1, 0) if count is None else count
        self._cores = self.count + 1
        self._runnable = runnable
        self._idle = threading.Semaphore(self.count)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._working = 0

    @contextmanager
    def working(self) -> Iterator[None]:
        """Count the caller as one ask at work while the block runs."""
        with self._lock:
            self._working += 1
        try:
            yield
        finally:
            with self._lock:
                self._working -= 1

    def spare(self) -> bool:
        """Whether a core is likely free for a part: helpers exist, fewer asks than cores
        are at work (the caller's own counted), and the machine's other processes leave a
        core idle at this moment. Why the last: on a host shared with other work (another
        replica, an ingest's parser, a job) a part handed to a second thread whose core is
        taken waits for it, and the ask gets slower, not faster: e5's two streams took
        13.9 ms a query call against 10.3 on one thread while another process kept both
        cores busy (eval/reports/bench-scale.md, ninth pass)."""
        if self.count == 0 or self._working > self.count:
            return False
        runnable = self._runnable()
        return runnable is None or runnable < self._cores

    def run(self, parts: list[Callable[[], None]]) -> None:
        """Run every part: the first on this thread, each other one on a helper if one is
        idle, else on this thread first. Returns when all are done; a part's error is
        raised here."""
        taken = []
        for part in parts[1:]:
            if self.spare() and self._idle.acquire(blocking=False):
                taken.append(self._executor().submit(self._release_after, part))
            else:
                part()
        parts[0]()
        for future in taken:
            future.result()

    def start(self, part: Callable[[], T]) -> Future[T] | None:
        """Run `part` on an idle helper and return at once, or None (no helper idle, or no
        core likely free: the caller does without). For work started ahead of need, whose
        result may be asked for later (kb.pgvector_index.PgVectorIndex.prefetch)."""
        if self.spare() and self._idle.acquire(blocking=False):
            return self._executor().submit(self._release_after, part)
        return None

    def _release_after(self, part: Callable[[], T]) -> T:
        try:
            return part()
        finally:
            self._idle.release()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.count, thread_name_prefix="kb-helper")
            return self._pool


HELPERS = IdleHelpers(runnable=system_runnable)
"""The process's helpers, shared by every kind of part."""

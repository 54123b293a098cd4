"""Idle helper threads that take a part of one ask's work beside the thread that asks.

Two parts of an ask wait on C code that releases the GIL: FAISS's scan of every stored
vector (kb.index) and SQLite's walk over a word's occurrences (kb.lexical_bm25). On this
two-core machine a second thread does half of either in the same time. A part goes to a
helper only when one is idle at that moment, never into a queue: under many concurrent asks
each does its own parts on its own thread, as before, and none waits for another's work.

Nor is a part handed over while as many asks are working as there are helpers (`working`,
counted by kb.retrieve): a second core then already has an ask of its own, and splitting
only adds the hand-over's cost. Measured in one process at 100,000 chunks, splitting on
every ask cost ~9 ms of CPU an ask (two e5 streams each pay the per-layer overhead) and 7 %
of the throughput of 8 concurrent askers, for 4.5 ms less wall time an ask alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class IdleHelpers:
    """As many helper threads as the process has cores but one (none on one core)."""

    def __init__(self, count: int | None = None) -> None:
        self.count = max(_cores() - 1, 0) if count is None else count
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
        """Whether a core is likely free for a part: helpers exist and fewer asks than
        cores are at work (the caller's own counted)."""
        return self.count > 0 and self._working <= self.count

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

    def _release_after(self, part: Callable[[], None]) -> None:
        try:
            part()
        finally:
            self._idle.release()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.count, thread_name_prefix="kb-helper")
            return self._pool


HELPERS = IdleHelpers()
"""The process's helpers, shared by every kind of part."""

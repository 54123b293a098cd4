"""Per-token rate limits: an in-process token bucket per integration account. Pure.

In-process is enough for one `kb serve`; several API processes behind a balancer would each
allow the rate (a shared limiter, e.g. in the gateway, would be the next step).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`capacity` requests at once, refilled at `rate_per_minute`."""

    def __init__(
        self,
        rate_per_minute: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError(f"rate_per_minute must be above 0. Currently, it is {rate_per_minute}")
        self.rate = rate_per_minute / 60.0
        self.capacity = float(capacity if capacity is not None else max(1.0, rate_per_minute))
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def wait(self) -> float:
        """0.0 if a request may go now, else the seconds until one may (counts nothing)."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> float:
        """0.0 if a request may go now (and counts it), else the seconds until one may."""
        wait = self.wait()
        if wait == 0.0:
            self.tokens -= 1.0
        return wait


class RateLimiter:
    """One bucket per key (an account id); a changed rate starts a new bucket."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, TokenBucket]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate_per_minute: float) -> float:
        with self._lock:
            found = self._buckets.get(key)
            if found is None or found[0] != rate_per_minute:
                found = (rate_per_minute, TokenBucket(rate_per_minute, clock=self.clock))
                self._buckets[key] = found
            return found[1].take()

    def wait(self, key: str) -> float:
        """Seconds until `key` may go again (0.0 if now or never seen), counting nothing."""
        with self._lock:
            found = self._buckets.get(key)
            return found[1].wait() if found else 0.0

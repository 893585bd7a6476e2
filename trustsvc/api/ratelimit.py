"""Per-client rate limits: a token bucket per client and process.

Each client may make ``limit`` requests a minute, in bursts of up to that
many; beyond that the answer is 429 with the seconds to wait. The buckets
live in the process, so with N workers or nodes a client gets at most N
times its limit: a bound meant to stop a runaway integration, not a quota
to bill by (a shared counter would cost a database write per request).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from trustsvc.errors import RateLimitedError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()
        self._now = monotonic

    def take(self, client_id: int, per_minute: int) -> None:
        """Spend one request of the client's budget, or raise ``RateLimitedError``."""
        rate = per_minute / 60.0
        now = self._now()
        with self._lock:
            bucket = self._buckets.get(client_id)
            if bucket is None:
                bucket = self._buckets[client_id] = _Bucket(float(per_minute), now)
            bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / rate
        raise RateLimitedError(
            f"rate limit of {per_minute} requests a minute reached", max(1, math.ceil(wait))
        )

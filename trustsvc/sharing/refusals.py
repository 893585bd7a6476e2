"""A budget of refusals per client: a client refused too often a minute gets 429, not a record row.

Every refused lookup is recorded for its holder (全程留痕), which makes refusals a
way to flood a holder's record: 510 refused lookups once pushed the one real
lookup out of view. So each client may be refused ``per_minute`` times a
minute (a token bucket, bursts of up to that many); beyond that it is answered
429 with the seconds to wait, and the record keeps one row saying the limit
was reached, per time it is reached, rather than one per attempt. The
buckets live in the process, like the request rate limit (``api.ratelimit``):
with N workers a client gets at most N times its budget, and nothing here
costs a query.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: The refusal code of the row recorded when a client's refusal budget runs out.
LIMIT_REACHED = "refusal-limit-reached"


@dataclass(frozen=True)
class Overdrawn:
    """A refusal beyond the budget: answer 429, record it only if ``first``."""

    retry_after: int
    #: The first refusal over the budget since the client was last within it.
    first: bool


@dataclass
class _Bucket:
    tokens: float
    updated: float
    overdrawn: bool = False


class RefusalBudget:
    def __init__(self, per_minute: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("a refusal budget allows at least one refusal a minute")
        self.per_minute = per_minute
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()
        self._now = monotonic

    def spend(self, client_id: int) -> Overdrawn | None:
        """Spend one refusal of the client's budget; what to do when it is overdrawn."""
        rate = self.per_minute / 60.0
        now = self._now()
        with self._lock:
            bucket = self._buckets.get(client_id)
            if bucket is None:
                if len(self._buckets) > 100_000:
                    # Bounded memory: a forgotten client gets a fresh budget, once per sweep.
                    self._buckets = {k: b for k, b in self._buckets.items() if b.overdrawn}
                bucket = self._buckets[client_id] = _Bucket(float(self.per_minute), now)
            bucket.tokens = min(
                float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.overdrawn = False
                return None
            first = not bucket.overdrawn
            bucket.overdrawn = True
            wait = (1.0 - bucket.tokens) / rate
        return Overdrawn(max(1, math.ceil(wait)), first)


__all__ = ["LIMIT_REACHED", "Overdrawn", "RefusalBudget"]

"""Per-client rate limits: a token bucket per client (API key or address) and process.

Each client may make ``limit`` requests a minute, in bursts of up to ``burst``
(by default that many); beyond that the answer is 429 with the seconds to wait.
The buckets live in the process, so with N workers or nodes a client gets at
most N times its limit: a bound meant to stop a runaway integration or someone
listing the library by guessing, not a quota to bill by (a shared counter would
cost a database write per request).

Clients without a key are told apart by address, and anyone can bring many
addresses, so the buckets are bounded: past ``max_clients`` the buckets that
have refilled (and so say nothing a new bucket would not) are dropped, then
the oldest. IPv6 addresses count per /64, the block one subscriber gets.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Hashable

from trustsvc.errors import RateLimitedError

#: Buckets kept per limiter before the refilled and oldest ones are dropped.
MAX_CLIENTS = 100_000


class _Bucket:
    __slots__ = ("full_at", "tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated
        self.full_at = updated


class RateLimiter:
    def __init__(
        self, monotonic: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS
    ) -> None:
        self._buckets: dict[Hashable, _Bucket] = {}
        self._lock = threading.Lock()
        self._now = monotonic
        self._max_clients = max_clients

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client_id: Hashable, per_minute: int, burst: int | None = None) -> None:
        """Spend one request of the client's budget, or raise ``RateLimitedError``."""
        rate = per_minute / 60.0
        capacity = float(burst or per_minute)
        now = self._now()
        with self._lock:
            bucket = self._buckets.get(client_id)
            if bucket is None:
                if len(self._buckets) >= self._max_clients:
                    self._evict(now)
                bucket = self._buckets[client_id] = _Bucket(capacity, now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.full_at = now + (capacity - bucket.tokens) / rate
                return
            wait = (1.0 - bucket.tokens) / rate
        raise RateLimitedError(
            f"rate limit of {per_minute} requests a minute reached", max(1, math.ceil(wait))
        )

    def _evict(self, now: float) -> None:
        """Make room: drop refilled buckets, then the oldest tenth (called under the lock)."""
        buckets = self._buckets
        for key in [key for key, bucket in buckets.items() if bucket.full_at <= now]:
            del buckets[key]
        # Dropping a tenth at once keeps this rare when every bucket is still in use.
        excess = len(buckets) - (self._max_clients - max(1, self._max_clients // 10))
        if excess > 0:
            for key in list(buckets)[:excess]:  # dicts keep insertion order: oldest first
                del buckets[key]


def address_key(host: str | None) -> str:
    """The rate-limit key of a client address: itself for IPv4, its /64 for IPv6."""
    if host is None:
        return ""
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.packed[:8].hex()

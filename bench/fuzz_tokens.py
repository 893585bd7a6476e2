"""Fuzz the QR token decoder for longer than the suite does, and print the figures.

Feeds ``parse_token`` and ``peek_kind`` random text, random bytes, mutated
genuine tokens (version 3 license and presentation, versions 2 and 1), hostile CBOR in
the payload and the COSE parts (tags, bignums, floats, nesting, the tag 4
bomb) and raw CBOR heads spliced in anywhere. Fails (exit 1) if anything but
``InvalidTokenError`` escapes or a call takes 50 ms of CPU time or more
(wall-clock time is printed too; on a busy machine it includes waiting).

    .venv/bin/python bench/fuzz_tokens.py [--seconds 60] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from tests.verification import hostile_tokens as H
from trustsvc.tokens.decoding import parse_token, peek_kind
from trustsvc.tokens.format import InvalidTokenError

BOUND = 0.05


def _value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(12 if depth < 4 else 9)
    if choice == 0:
        return rng.randrange(-(2**70), 2**70)
    if choice == 1:
        return rng.choice([0.0, -0.0, 1.5, float("inf"), float("nan"), 739000.0])
    if choice == 2:
        return rng.randbytes(rng.randrange(40))
    if choice == 3:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(20)))
    if choice == 4:
        return rng.choice([True, False, None, cbor2.undefined])
    if choice == 5:
        tags = [0, 1, 2, 3, 4, 5, 18, 24, 100, 258, 1004]
        return cbor2.CBORTag(rng.choice(tags), rng.randrange(2**40))
    if choice == 6:
        return cbor2.CBORTag(4, [rng.choice([10**6, 10**8, 10**9]), 1])
    if choice == 7:
        return cbor2.CBORTag(2, rng.randbytes(rng.randrange(1, 64)))
    if choice == 8:
        return rng.randrange(0, 2**32)
    if choice == 9:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice == 10:
        return {rng.randrange(-2, 12): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [[[[[_value(rng, depth + 1)]]]]]


def _mutated(rng: random.Random, seed: str) -> str:
    data = bytearray(H.raw(seed))
    for _ in range(rng.randrange(1, 6)):
        at = rng.randrange(len(data) + 1)
        operation = rng.randrange(3)
        if operation == 0:
            data.insert(at, rng.randrange(256))
        elif data:
            at = min(at, len(data) - 1)
            if operation == 1:
                data[at] ^= rng.randrange(1, 256)
            else:
                del data[at]
    return H.text(bytes(data))


def _payload(rng: random.Random, seed: str) -> str:
    body = H.payload_of(seed)
    for _ in range(rng.randrange(1, 4)):
        # Version 1 / 2 keys, CWT claims, and keys around version 3's private ones.
        key = rng.choice([rng.randrange(-1, 12), rng.randrange(-65545, -65535)])
        body[key] = _value(rng)
    return H.with_payload(seed, body, canonical=rng.random() < 0.5)


def _cose(rng: random.Random, seed: str) -> str:
    index = rng.randrange(4)
    value = _value(rng)

    def change(parts: list[Any]) -> None:
        parts[index] = value

    return H.rebuilt(seed, change)


def _spliced(rng: random.Random, seed: str) -> str:
    data = H.raw(seed)
    at = rng.randrange(len(data) + 1)
    return H.text(data[:at] + rng.randbytes(rng.randrange(1, 12)) + data[at:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    key = ec.generate_private_key(ec.SECP256R1())
    seeds = [
        H.genuine(key),
        H.presentation(key),
        H.version_2(key),
        H.legacy(key, H.claims(signed_at=None)),
    ]
    corpus = [t for s in seeds[:3] for t in H.hostile(s).values()]
    makers: list[Callable[[], str]] = [
        lambda: "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(400))),
        lambda: H.text(rng.randbytes(rng.randrange(600))),
        lambda: _mutated(rng, rng.choice(seeds)),
        lambda: _payload(rng, rng.choice(seeds)),
        lambda: _cose(rng, rng.choice(seeds)),
        lambda: _spliced(rng, rng.choice(seeds)),
        lambda: rng.choice(corpus),
    ]
    timings: list[float] = []
    accepted = escaped = 0
    worst = (0.0, "")
    worst_cpu = 0.0
    end = time.monotonic() + arguments.seconds
    while time.monotonic() < end:
        token = rng.choice(makers)()
        started = time.perf_counter()
        cpu_started = time.thread_time()
        try:
            parse_token(token)
            accepted += 1
        except InvalidTokenError:
            pass
        except Exception as exc:  # noqa: BLE001 - what the bench is looking for
            escaped += 1
            print(f"ESCAPED {type(exc).__name__}: {exc} for {token[:100]!r}")
        peek_kind(token)
        elapsed = time.perf_counter() - started
        worst_cpu = max(worst_cpu, time.thread_time() - cpu_started)
        timings.append(elapsed)
        if elapsed > worst[0]:
            worst = (elapsed, token)
    timings.sort()
    print(f"calls                {len(timings)} (parse_token + peek_kind each)")
    print(f"accepted             {accepted} (mutations that are still well-formed tokens)")
    print(f"other exceptions     {escaped}")
    print(
        f"time per call        mean {statistics.fmean(timings) * 1e6:.1f} us, "
        f"median {statistics.median(timings) * 1e6:.1f} us, "
        f"p99 {timings[int(len(timings) * 0.99)] * 1e6:.1f} us"
    )
    print(f"worst case           {worst[0] * 1e3:.2f} ms wall for {worst[1][:60]!r}...")
    print(f"worst case CPU       {worst_cpu * 1e3:.2f} ms (this thread)")
    if escaped or worst_cpu >= BOUND:
        sys.exit(1)


if __name__ == "__main__":
    main()

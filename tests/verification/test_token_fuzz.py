"""Fuzzing the token and presentation-code decoder (Hypothesis), with a fixed budget.

Whatever arrives, ``parse_token`` and ``peek_kind`` either answer or raise
``InvalidTokenError``, and each call returns within 50 ms. About two
seconds in all; ``bench/fuzz_tokens.py`` runs longer.
"""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.verification import hostile_tokens as H
from trustsvc.tokens.decoding import MAX_TOKEN_LENGTH, parse_token, peek_kind
from trustsvc.tokens.format import InvalidTokenError

BOUND = 0.05
KEY = ec.generate_private_key(ec.SECP256R1())
SEEDS = [
    H.genuine(KEY),
    H.presentation(KEY),
    H.version_2(KEY),
    H.legacy(KEY, H.claims(signed_at=None)),
]
BUDGET = settings(
    max_examples=150,
    deadline=timedelta(milliseconds=200),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


def _decode_within_bound(token: str) -> None:
    # The CPU time of this thread: the work the call does, which another
    # process on a shared machine does not inflate as it does wall-clock time.
    started = time.thread_time()
    with contextlib.suppress(InvalidTokenError):
        parse_token(token)
    kind = peek_kind(token)
    assert kind in (None, "license", "presentation")
    elapsed = time.thread_time() - started
    assert elapsed < BOUND, f"{elapsed * 1000:.1f} ms for {token[:80]!r}"


@BUDGET
@given(st.text(max_size=MAX_TOKEN_LENGTH + 10))
def test_any_text(token: str) -> None:
    _decode_within_bound(token)


@BUDGET
@given(st.binary(max_size=1600))
def test_any_bytes(data: bytes) -> None:
    _decode_within_bound(H.text(data))


@BUDGET
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 400), st.integers(0, 255)
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_tokens(seed: str, mutations: list[tuple[str, int, int]]) -> None:
    data = bytearray(H.raw(seed))
    for operation, position, value in mutations:
        at = position % (len(data) + 1)
        if operation == "insert":
            data.insert(at, value)
        elif data:
            at = min(at, len(data) - 1)
            if operation == "flip":
                data[at] ^= value or 1
            else:
                del data[at]
    _decode_within_bound(H.text(bytes(data)))


_LEAVES = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.binary(max_size=40)
    | st.text(max_size=40)
    | st.booleans()
    | st.none()
    | st.just(cbor2.undefined)
    | st.builds(
        cbor2.CBORTag, st.sampled_from([0, 1, 2, 3, 4, 5, 18, 24, 100, 258, 1004]), st.integers()
    )
    | st.builds(lambda: cbor2.CBORTag(4, [100000000, 1]))
)
_VALUES = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.integers(-2, 12), children, max_size=4)
    ),
    max_leaves=12,
)


@BUDGET
@given(
    st.sampled_from(SEEDS),
    st.dictionaries(st.integers(-1, 12) | st.integers(-65545, -65535), _VALUES, max_size=4),
)
def test_hostile_payload_fields(seed: str, changes: dict[int, Any]) -> None:
    body = H.payload_of(seed)
    body.update(changes)
    _decode_within_bound(H.with_payload(seed, body, canonical=False))
    _decode_within_bound(H.with_payload(seed, body))


@BUDGET
@given(st.sampled_from(SEEDS), st.integers(0, 3), _VALUES)
def test_hostile_cose_parts(seed: str, index: int, value: Any) -> None:
    def change(parts: list[Any]) -> None:
        parts[index] = value

    _decode_within_bound(H.rebuilt(seed, change))


@BUDGET
@given(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=12), st.integers(0, 300))
def test_raw_cbor_heads_spliced_in(seed: str, heads: bytes, position: int) -> None:
    """Indefinite lengths, reserved additional info, huge lengths, break codes, anywhere."""
    data = H.raw(seed)
    at = position % (len(data) + 1)
    _decode_within_bound(H.text(data[:at] + heads + data[at:]))

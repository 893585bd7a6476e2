"""Tokens for the decoder's tests and bench/fuzz_tokens.py: genuine ones (version 3), the
formats as they were printed before issue 10 (version 1) and issue 11 (version 2), and
hand-built hostile CBOR for versions 2 and 3.

Built with cbor2 and the ``_raw`` helpers here, not with the decoder under test.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import trustsvc
from trustsvc.codes.identifiers import LicenseIdentifier
from trustsvc.pki.keystore import SigningKey
from trustsvc.tokens.format import TokenClaims, content_hash
from trustsvc.tokens.signing import sign_token

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
KID = bytes(range(8))
IDENTIFIER = str(
    LicenseIdentifier("11100000MB0000019L001", "11330100MB0000001R", "202600000001", 1)
)


def text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def claims(**changes: Any) -> TokenClaims:
    values: dict[str, Any] = {
        "identifier": IDENTIFIER,
        "type_code": "11100000MB0000019L001",
        "issuer_code": "11330100MB0000001R",
        "valid_from": date(2026, 1, 1),
        "valid_until": date(2031, 1, 1),
        "content_hash": content_hash(b"license"),
        "signed_at": 1_780_000_000,
    }
    values.update(changes)
    return TokenClaims(**values)


def genuine(key: SigningKey, **changes: Any) -> str:
    return sign_token(claims(**changes), key, KID)


def presentation(key: SigningKey) -> str:
    return genuine(
        key, kind="presentation", expires_at=1_780_000_300, nonce=bytes(16), signed_at=1_780_000_000
    )


def legacy(
    key: ec.EllipticCurvePrivateKey,
    parts: TokenClaims,
    kid: bytes = KID,
    high_s: bool = False,
    version: int = 1,
) -> str:
    """A version 1 token exactly as ``sign_token`` wrote it before issue 10, or (``version=2``,
    always low-S) a version 2 token as it wrote it before issue 11."""
    body: dict[int, Any] = {
        1: parts.identifier,
        2: parts.valid_from.toordinal(),
        4: parts.content_hash,
    }
    if parts.valid_until is not None:
        body[3] = parts.valid_until.toordinal()
    if parts.kind != "license":
        body[5] = parts.kind
    if parts.expires_at is not None:
        body[6] = parts.expires_at
    if parts.nonce is not None:
        body[7] = parts.nonce
    if version == 2:
        assert parts.signed_at is not None and not high_s
        body[0] = 2
        body[8] = parts.signed_at
    payload = cbor2.dumps(body, canonical=True)
    protected = cbor2.dumps({1: -7, 4: kid}, canonical=True)
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    while True:
        r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
        if (s > P256_ORDER // 2) == high_s:
            break
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return text(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def version_2(key: ec.EllipticCurvePrivateKey, **changes: Any) -> str:
    return legacy(key, claims(**changes), version=2)


def parts_of(token: str) -> list[Any]:
    """[protected, unprotected, payload, signature] of a token (cbor2's reading)."""
    message = cbor2.loads(raw(token))
    return list(message.value)


def rebuilt(token: str, change: Callable[[list[Any]], object]) -> str:
    """The token with its COSE parts changed by ``change`` (the signature left as it was)."""
    parts = parts_of(token)
    change(parts)
    return text(cbor2.dumps(cbor2.CBORTag(18, parts)))


def with_payload(token: str, body: Any, canonical: bool = True) -> str:
    def change(parts: list[Any]) -> None:
        parts[2] = body if isinstance(body, bytes) else cbor2.dumps(body, canonical=canonical)

    return rebuilt(token, change)


def payload_of(token: str) -> dict[int, Any]:
    body: dict[int, Any] = cbor2.loads(parts_of(token)[2])
    return body


def high_s(token: str) -> str:
    """The same token with the other ECDSA signature (r, n - s): valid, but a second encoding."""

    def change(parts: list[Any]) -> None:
        signature = parts[3]
        s = int.from_bytes(signature[32:], "big")
        parts[3] = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")

    return rebuilt(token, change)


def tag4_bomb(token: str) -> str:
    """Issue 10's bomb: a decimal fraction 1e100000000 (tag 4) as valid-from (~250 characters)."""
    body = payload_of(token)
    body[2] = cbor2.CBORTag(4, [100000000, 1])
    return with_payload(token, body)


def _indefinite_map(token: str) -> bytes:
    body = payload_of(token)
    encoded = cbor2.dumps(body, canonical=True)
    return b"\xbf" + encoded[1:] + b"\xff"


def _non_shortest(token: str) -> bytes:
    encoded = cbor2.dumps(payload_of(token), canonical=True)
    # The map head as a one-byte argument: a second encoding of the same map.
    return bytes([0xB8, encoded[0] & 0x1F]) + encoded[1:]


def _duplicate_key(token: str) -> bytes:
    encoded = cbor2.dumps(payload_of(token), canonical=True)
    count = encoded[0] & 0x1F
    # The first pair (version 2) once more, at the end.
    return bytes([0xA0 | (count + 1)]) + encoded[1:] + b"\x00\x02"


def _out_of_order(token: str) -> bytes:
    body = payload_of(token)
    return cbor2.dumps(dict(reversed(list(body.items()))))


def _nested(depth: int) -> bytes:
    return b"\x81" * depth + b"\x00"


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _unused_bits_set(token: str) -> str:
    """The same bytes, but the last character's unused low bit set: a second text for them."""
    if len(token) % 4 == 0:
        # No unused bits: drop a byte so that there are some, then set one.
        token = text(raw(token)[:-1])
    last = _ALPHABET.index(token[-1])
    return token[:-1] + _ALPHABET[last | 1]


def hostile(token: str) -> dict[str, str]:
    """Named hostile variants of a genuine version 2 or 3 token; none may be accepted."""
    if parts_of(token)[0][0] == 0xA3:
        return hostile_v3(token)
    return hostile_v2(token)


def hostile_v2(token: str) -> dict[str, str]:
    """Named hostile variants of a genuine version 2 token; none may be accepted."""
    body = payload_of(token)

    def field(key: int, value: Any) -> str:
        changed = dict(body)
        changed[key] = value
        return with_payload(token, changed)

    raw_token = raw(token)
    return {
        "tag 4 decimal fraction bomb": tag4_bomb(token),
        "tag 5 bigfloat": field(2, cbor2.CBORTag(5, [100000000, 1])),
        "bignum": field(2, 2**200),
        "tag 1 epoch time": field(8, cbor2.CBORTag(1, 1_780_000_000)),
        "float valid-from": field(2, 739000.0),
        "half float": field(2, b"\xf9\x3c\x00"),
        "true": field(8, True),
        "null valid-until": field(3, None),
        "undefined": field(3, cbor2.undefined),
        "negative date": field(2, -1),
        "text date": field(2, "2026-01-01"),
        "date too late": field(2, date.max.toordinal() + 1),
        "seconds beyond 32 bits": field(8, 2**32),
        "long content hash": field(4, bytes(17)),
        "long identifier": field(1, "1" * 200),
        "identifier not text": field(1, IDENTIFIER.encode()),
        "identifier lower case": field(1, IDENTIFIER.lower()),
        "kind license spelt out": field(5, "license"),
        "kind unknown": field(5, "admin"),
        "version 3": field(0, 3),
        "unknown key": field(9, 1),
        "nested array": field(1, [[[[IDENTIFIER]]]]),
        "nested map": field(1, {1: {1: {1: IDENTIFIER}}}),
        "validity ends before it starts": field(3, body[2] - 1),
        "no signing time": with_payload(token, {k: v for k, v in body.items() if k != 8}),
        "indefinite map": with_payload(token, _indefinite_map(token)),
        "non-shortest head": with_payload(token, _non_shortest(token)),
        "duplicate key": with_payload(token, _duplicate_key(token)),
        "keys out of order": with_payload(token, _out_of_order(token)),
        "payload not a map": with_payload(token, [1, 2, 3]),
        "payload deeply nested": with_payload(token, _nested(10_000)),
        "payload trailing bytes": with_payload(token, cbor2.dumps(body, canonical=True) + b"\x00"),
        "huge byte string length": text(raw_token[:-66] + b"\x5b" + (2**62).to_bytes(8, "big")),
        "indefinite byte string": text(raw_token[:-66] + b"\x5f\x41\x00\xff"),
        "trailing bytes": text(raw_token + b"\x00"),
        "truncated": text(raw_token[:-1]),
        "untagged": text(raw_token[1:]),
        "tag 98 COSE_Sign": text(b"\xd8\x62" + raw_token[1:]),
        "double tag": text(b"\xd2" + raw_token),
        "array of five": rebuilt(token, lambda p: p.append(b"")),
        "unprotected header": rebuilt(token, lambda p: p.__setitem__(1, {4: KID})),
        "protected header extra key": rebuilt(
            token, lambda p: p.__setitem__(0, cbor2.dumps({1: -7, 4: KID, 3: 0}, canonical=True))
        ),
        "protected header alg none": rebuilt(
            token, lambda p: p.__setitem__(0, cbor2.dumps({1: 0, 4: KID}, canonical=True))
        ),
        "short key id": rebuilt(
            token, lambda p: p.__setitem__(0, cbor2.dumps({1: -7, 4: KID[:4]}, canonical=True))
        ),
        "short signature": rebuilt(token, lambda p: p.__setitem__(3, p[3][:63])),
        "zero signature": rebuilt(token, lambda p: p.__setitem__(3, bytes(64))),
        "high-S signature": high_s(token),
        "padding": token + "=" * (-len(token) % 4 or 4),
        "standard base64": base64.b64encode(raw_token).decode().rstrip("=").replace("-", "+")
        + "+/",
        "non-zero trailing bits": _unused_bits_set(token),
        "whitespace inside": token[:10] + " " + token[10:],
        "non-ASCII": token[:10] + "证" + token[10:],
        "too long": "A" * 2049,
        "empty": "",
    }


#: Version 3 claim keys (docs/token.md).
EXP, IAT, CTI = 4, 6, 7
IDENTIFIER_KEY, FROM_KEY, UNTIL_KEY, CONTENT_KEY, DOCUMENT_KEY = range(-65537, -65542, -1)
TYPE = "application/x.trustsvc-token;v=3"


def _non_shortest_key(token: str) -> bytes:
    """The identifier's key -65537 as an 8-byte head: the same map, a second encoding."""
    encoded = cbor2.dumps(payload_of(token), canonical=True)
    short = b"\x3a\x00\x01\x00\x00"
    return encoded.replace(short, b"\x3b" + (65536).to_bytes(8, "big"), 1)


def hostile_v3(token: str) -> dict[str, str]:
    """Named hostile variants of a genuine version 3 token; none may be accepted."""
    body = payload_of(token)
    presentation_code = EXP in body

    def field(key: int, value: Any) -> str:
        changed = dict(body)
        changed[key] = value
        return with_payload(token, changed)

    def without(key: int) -> str:
        return with_payload(token, {k: v for k, v in body.items() if k != key})

    def header(value: dict[int, Any]) -> Callable[[list[Any]], object]:
        return lambda p: p.__setitem__(0, cbor2.dumps(value, canonical=True))

    raw_token = raw(token)
    variants = {
        "tag 4 decimal fraction bomb": field(FROM_KEY, cbor2.CBORTag(4, [100000000, 1])),
        "tag 100 date": field(FROM_KEY, cbor2.CBORTag(100, body[FROM_KEY])),
        "tag 1004 date": field(FROM_KEY, cbor2.CBORTag(1004, "2026-01-01")),
        "tag 1 iat": field(IAT, cbor2.CBORTag(1, 1_780_000_000)),
        "bignum date": field(FROM_KEY, 2**200),
        "negative bignum date": field(FROM_KEY, -(2**200)),
        "float iat": field(IAT, 1_780_000_000.0),
        "true": field(IAT, True),
        "null valid-until": field(UNTIL_KEY, None),
        "date before 1900": field(FROM_KEY, -25568),
        "date after 9999": field(FROM_KEY, 2932897),
        "negative iat": field(IAT, -1),
        "iat beyond 32 bits": field(IAT, 2**32),
        "text date": field(FROM_KEY, "2026-01-01"),
        "validity ends before it starts": field(UNTIL_KEY, body[FROM_KEY] - 1),
        "long identifier": field(IDENTIFIER_KEY, "1" * 200),
        "identifier not text": field(IDENTIFIER_KEY, IDENTIFIER.encode()),
        "identifier lower case": field(IDENTIFIER_KEY, IDENTIFIER.lower()),
        "nested identifier": field(IDENTIFIER_KEY, [[[[IDENTIFIER]]]]),
        "version 2 key in a version 3 token": field(0, 2),
        "version 2 identifier key": field(1, IDENTIFIER),
        "CWT iss": field(1, "11330100MB0000001R"),
        "CWT nbf": field(5, 1_780_000_000),
        "private key not ours": field(-65542, b"x"),
        "private key beyond ours": field(-70000, 1),
        "no iat": without(IAT),
        "no identifier": without(IDENTIFIER_KEY),
        "no valid-from": without(FROM_KEY),
        "non-shortest key": with_payload(token, _non_shortest_key(token)),
        "indefinite map": with_payload(token, _indefinite_map(token)),
        "non-shortest head": with_payload(token, _non_shortest(token)),
        "keys out of order": with_payload(token, _out_of_order(token)),
        "payload not a map": with_payload(token, [1, 2, 3]),
        "payload deeply nested": with_payload(token, _nested(10_000)),
        "payload trailing bytes": with_payload(token, cbor2.dumps(body, canonical=True) + b"\x00"),
        "huge byte string length": text(raw_token[:-66] + b"\x5b" + (2**62).to_bytes(8, "big")),
        "trailing bytes": text(raw_token + b"\x00"),
        "truncated": text(raw_token[:-1]),
        "untagged": text(raw_token[1:]),
        "unprotected header": rebuilt(token, lambda p: p.__setitem__(1, {16: TYPE})),
        "typ of another version": rebuilt(
            token, header({1: -7, 4: KID, 16: TYPE.replace("v=3", "v=4")})
        ),
        "typ as a number": rebuilt(token, header({1: -7, 4: KID, 16: 61})),
        "content type instead of typ": rebuilt(token, header({1: -7, 3: TYPE, 4: KID})),
        "typ with an extra header": rebuilt(token, header({1: -7, 4: KID, 16: TYPE, 17: 0})),
        "typ alg none": rebuilt(token, header({1: 0, 4: KID, 16: TYPE})),
        "typ short key id": rebuilt(token, header({1: -7, 4: KID[:4], 16: TYPE})),
        "typ header unordered": rebuilt(
            token, lambda p: p.__setitem__(0, cbor2.dumps({16: TYPE, 1: -7, 4: KID}))
        ),
        "version 3 payload under the version 2 header": rebuilt(token, header({1: -7, 4: KID})),
        "high-S signature": high_s(token),
        "zero signature": rebuilt(token, lambda p: p.__setitem__(3, bytes(64))),
        "non-zero trailing bits": _unused_bits_set(token),
    }
    if presentation_code:
        variants.update(
            {
                "presentation without cti": without(CTI),
                "presentation without exp": without(EXP),
                "presentation with a content hash too": field(CONTENT_KEY, bytes(16)),
                "presentation without its document hash": without(DOCUMENT_KEY),
                "short cti": field(CTI, bytes(8)),
            }
        )
    else:
        variants.update(
            {
                "license with exp": field(EXP, 1_780_000_300),
                "license with cti": field(CTI, bytes(16)),
                "license with a document hash": field(DOCUMENT_KEY, bytes(16)),
                "license without its content hash": without(CONTENT_KEY),
                "long content hash": field(CONTENT_KEY, bytes(17)),
            }
        )
    return variants


_DECODE_IN_A_CHILD = """\
import sys, time
from trustsvc.tokens.decoding import parse_token, peek_kind
from trustsvc.tokens.format import InvalidTokenError
started = time.perf_counter()
kind = peek_kind(sys.argv[1])
try:
    parse_token(sys.argv[1])
except InvalidTokenError:
    print("refused", kind, time.perf_counter() - started)
else:
    print("accepted", kind, time.perf_counter() - started)
"""


def decode_in_a_fresh_process(token: str, work: Path) -> tuple[str, str, float]:
    """Peek at and decode ``token`` in a child killed after 20 s (a bomb holds the GIL).

    The child imports the very trustsvc this test imported. Returns the outcome
    (``refused`` or ``accepted``), what ``peek_kind`` said, and the seconds both took.
    """
    source = str(Path(trustsvc.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    try:
        child = subprocess.run(
            [sys.executable, "-c", _DECODE_IN_A_CHILD, token],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
            cwd=work,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("decoding the token ran for more than 20 s")
    assert child.returncode == 0, child.stderr
    outcome, kind, seconds = child.stdout.split()
    return outcome, kind, float(seconds)

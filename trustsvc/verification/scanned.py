"""What a clerk's handheld scanner (or a clerk) types: a link, a token, an identifier, a number.

A scanner acts as a keyboard: it types what the QR code holds and then Enter.
When the computer's Chinese input method is on, what arrives may be full-width
(ｈｔｔｐｓ：／／…, ＡＢＣ) or carry an ideographic space; Unicode NFKC
(UAX #15) folds those back to ASCII. Chinese punctuation mode also turns the
keys . / _ into 。、—— (which NFKC keeps): those are folded back too, since
none of them occurs in a link, a token, an identifier or a number. So the text
is normalised first and only then read, in this order:

- a link whose path ends in ``/v/<token>`` (the printed QR code, or a 亮证 code):
  the token;
- a GB/T 36904 identifier (``1.2.156.3005.2.…``);
- a token alone (base64url, as long as a token is);
- anything else short and plain: a printed license number (证照编号).

Bounded before any work: at most ``MAX_SCANNED`` characters as typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from trustsvc.codes.identifiers import IDENTIFIER_PREFIX
from trustsvc.errors import InvalidInputError
from trustsvc.tokens.decoding import MAX_TOKEN_LENGTH

#: A link with a token is the longest thing a scanner types here.
MAX_SCANNED = MAX_TOKEN_LENGTH + 512
#: A token is never shorter than this (the shortest, version 1, is about 200 characters).
MIN_TOKEN_LENGTH = 100
#: A license number as types print them: letters, digits and a few separators.
MAX_NUMBER_LENGTH = 64

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_LINK = re.compile(r"(?:https?://[^\s/]+)?(?:/[^\s/]+)*/v/([A-Za-z0-9_-]+)/?", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9A-Za-z\u3400-\u9fff（）()〔〕\[\]第号字_./-]{1,64}")


class ScannedKind(StrEnum):
    TOKEN = "token"  # noqa: S105 (a kind of input, not a secret)
    IDENTIFIER = "identifier"
    NUMBER = "number"


@dataclass(frozen=True)
class Scanned:
    """What the text names, and the text as read (normalised)."""

    kind: ScannedKind
    value: str


#: What Chinese punctuation mode types for keys a scanner presses (after NFKC).
_PUNCTUATION_MODE = str.maketrans({"。": ".", "、": "/", "—": "_"})


def normalise(text: str) -> str:
    """NFKC, Chinese punctuation folded, no control or format characters, no white space."""
    folded = unicodedata.normalize("NFKC", text).replace("——", "_").translate(_PUNCTUATION_MODE)
    kept = "".join(c for c in folded if unicodedata.category(c)[0] != "C")
    return "".join(kept.split())


def read_scanned(text: str) -> Scanned:
    """What a scanner (or a clerk) typed, read; ``InvalidInputError`` in Chinese if nothing."""
    if len(text) > MAX_SCANNED:
        raise InvalidInputError(
            "输入过长，不是证照二维码、证照标识或证照编号 · "
            "Too long for a QR code, identifier or number"
        )
    value = normalise(text)
    if not value:
        raise InvalidInputError(
            "请扫描二维码，或输入证照编号、证照标识 · "
            "Scan a QR code, or type a license number or identifier"
        )
    link = _LINK.fullmatch(value)
    if link is not None:
        return Scanned(ScannedKind.TOKEN, link.group(1))
    if value.startswith(IDENTIFIER_PREFIX + "."):
        return Scanned(ScannedKind.IDENTIFIER, value.upper())
    if _TOKEN.fullmatch(value) and MIN_TOKEN_LENGTH <= len(value) <= MAX_TOKEN_LENGTH:
        return Scanned(ScannedKind.TOKEN, value)
    if len(value) <= MAX_NUMBER_LENGTH and _NUMBER.fullmatch(value):
        return Scanned(ScannedKind.NUMBER, value)
    raise InvalidInputError(
        "无法识别：不是证照二维码、证照标识或证照编号 · Not a QR code, identifier or license number"
    )


__all__ = ["MAX_SCANNED", "Scanned", "ScannedKind", "normalise", "read_scanned"]

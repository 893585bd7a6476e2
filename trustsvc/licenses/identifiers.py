"""Codes that identify organisations and people, with their check characters.

- Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters
  from a 31-character alphabet, the last a mod-31 check character.
- Citizen ID number (公民身份号码), GB 11643-1999: 17 digits and a mod-11
  check character (0-9 or X).
"""

from __future__ import annotations

from trustsvc.errors import InvalidCreditCodeError, InvalidInputError

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_CITIZEN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CITIZEN_ID_CHECKS = "10X98765432"


def credit_code_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(ch) * weight
        for ch, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the code, upper-cased, or raise naming what is wrong with it."""
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise InvalidCreditCodeError(
            f"unified social credit code {code!r} must have 18 characters, not {len(normalised)}"
        )
    bad = sorted({ch for ch in normalised if ch not in CREDIT_CODE_ALPHABET})
    if bad:
        raise InvalidCreditCodeError(
            f"unified social credit code {code!r} contains characters not allowed by GB 32100: "
            + " ".join(bad)
        )
    expected = credit_code_check_character(normalised[:17])
    if normalised[17] != expected:
        raise InvalidCreditCodeError(
            f"unified social credit code {code!r} has check character {normalised[17]!r}, "
            f"GB 32100 gives {expected!r}"
        )
    return normalised


def citizen_id_check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(ch) * weight for ch, weight in zip(first17, _CITIZEN_ID_WEIGHTS, strict=True))
    return _CITIZEN_ID_CHECKS[total % 11]


def validate_citizen_id(number: str) -> str:
    """Return the ID number (with an upper-case X), or raise naming the problem."""
    normalised = number.strip().upper()
    if (
        len(normalised) != 18
        or not normalised[:17].isdigit()
        or not (normalised[17].isdigit() or normalised[17] == "X")
    ):
        raise InvalidInputError("citizen ID number must be 17 digits followed by a digit or X")
    expected = citizen_id_check_character(normalised[:17])
    if normalised[17] != expected:
        raise InvalidInputError(
            f"citizen ID number has check character {normalised[17]!r}, GB 11643 gives {expected!r}"
        )
    return normalised

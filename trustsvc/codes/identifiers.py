"""Codes that identify organisations, people and e-licenses, with their check characters.

- Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters
  from a 31-character alphabet, the last a mod-31 check character.
- Citizen ID number (公民身份号码), GB 11643-1999: 17 digits and a mod-11
  check character (0-9 or X).
- License identifier (证照标识), GB/T 36904-2018:
  ``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``, the
  check character per ISO/IEC 7064 MOD 37,36 over the four middle parts
  concatenated without their dots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from operator import mul

from trustsvc.errors import InvalidCreditCodeError, InvalidIdentifierError, InvalidInputError

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_CITIZEN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CITIZEN_ID_CHECKS = "10X98765432"


_CREDIT_CODE_VALUES = {ch: value for value, ch in enumerate(CREDIT_CODE_ALPHABET)}
_CREDIT_CODE_CHARACTERS = frozenset(CREDIT_CODE_ALPHABET)


def credit_code_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    if len(first17) != 17 or not _CREDIT_CODE_CHARACTERS.issuperset(first17):
        raise ValueError("a GB 32100 check character needs 17 characters of its alphabet")
    # map() rather than a generator: every token check computes this twice.
    total = sum(map(mul, map(_CREDIT_CODE_VALUES.__getitem__, first17), _CREDIT_CODE_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the code, upper-cased, or raise naming what is wrong with it."""
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise InvalidCreditCodeError(
            f"unified social credit code {code!r} must have 18 characters, not {len(normalised)}"
        )
    if not _CREDIT_CODE_CHARACTERS.issuperset(normalised):
        bad = sorted(set(normalised) - _CREDIT_CODE_CHARACTERS)
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


# ---- GB/T 36904 license identifiers ----------------------------------------------

#: The OID arc GB/T 36904 puts in front of every license identifier.
IDENTIFIER_PREFIX = "1.2.156.3005.2"
#: ISO/IEC 7064 MOD 37,36 works over the 36 characters 0-9 A-Z, check included.
MOD37_36_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MOD37_36_VALUES = {ch: value for value, ch in enumerate(MOD37_36_ALPHABET)}
MAX_VERSION = 999

_TYPE_CODE_SUFFIX = re.compile(r"[0-9]{3}")
_SERIAL = re.compile(r"[0-9]{1,30}")
_VERSION = re.compile(r"[0-9]{3}")
# Prefix, 21 + 18 characters, a 30-digit serial, 3 digits, 1 check character and dots.
_MAX_IDENTIFIER_LENGTH = len(IDENTIFIER_PREFIX) + 1 + 21 + 1 + 18 + 1 + 30 + 1 + 3 + 1 + 1


def mod37_36_check_character(text: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 (hybrid system) check character for ``text``.

    ``text`` must be upper-case 0-9 A-Z; the check character is one of those 36.
    """
    modulus = len(MOD37_36_ALPHABET)
    product = modulus
    for ch in text:
        value = _MOD37_36_VALUES.get(ch)
        if value is None:
            raise InvalidIdentifierError(
                f"character {ch!r} is not allowed in a GB/T 36904 identifier (0-9, A-Z only)"
            )
        total = (product + value) % modulus or modulus
        product = (total * 2) % (modulus + 1)
    return MOD37_36_ALPHABET[(modulus + 1 - product) % modulus]


def validate_license_type_code(code: str) -> str:
    """Return the 21-character license type code, upper-cased, or raise naming the problem.

    The first 18 characters are the credit code of the authority that defines the
    type and must pass GB 32100 (the published codes do: ``11100000000013338W``
    is a valid credit code); the last 3 are digits.
    """
    normalised = code.strip().upper()
    if len(normalised) != 21:
        raise InvalidIdentifierError(
            f"license type code {code!r} must have 21 characters (an 18-character credit code "
            f"and 3 digits), not {len(normalised)}"
        )
    try:
        validate_credit_code(normalised[:18])
    except InvalidCreditCodeError as exc:
        raise InvalidIdentifierError(f"license type code {code!r}: {exc.message}") from exc
    if not _TYPE_CODE_SUFFIX.fullmatch(normalised[18:]):
        raise InvalidIdentifierError(
            f"license type code {code!r} must end in 3 digits, not {normalised[18:]!r}"
        )
    return normalised


@dataclass(frozen=True)
class LicenseIdentifier:
    """A GB/T 36904 license identifier (证照标识); constructing one validates every part."""

    type_code: str
    """License type code: the defining authority's credit code and 3 digits (21 characters)."""
    issuer_code: str
    """The issuing department's unified social credit code (18 characters)."""
    serial: str
    """The issuer's serial number for the license, 1 to 30 digits; kept across versions."""
    version: int
    """1 for the first issue, one more for every change (变更); printed as 3 digits."""

    def __post_init__(self) -> None:
        # Normalised in place so that equal identifiers compare (and hash) equal.
        object.__setattr__(self, "type_code", validate_license_type_code(self.type_code))
        try:
            issuer_code = validate_credit_code(self.issuer_code)
        except InvalidCreditCodeError as exc:
            raise InvalidIdentifierError(f"issuer code: {exc.message}") from exc
        object.__setattr__(self, "issuer_code", issuer_code)
        serial = self.serial.strip()
        if not _SERIAL.fullmatch(serial):
            raise InvalidIdentifierError(f"serial {self.serial!r} must be 1 to 30 digits")
        object.__setattr__(self, "serial", serial)
        if isinstance(self.version, bool) or not 1 <= self.version <= MAX_VERSION:
            raise InvalidIdentifierError(
                f"version must be 1 to {MAX_VERSION}, not {self.version!r}"
            )

    @cached_property  # fields are frozen; parsing and printing an identifier both need it
    def check_character(self) -> str:
        """The MOD 37,36 check character over type code, issuer code, serial and version."""
        return mod37_36_check_character(
            f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}"
        )

    def __str__(self) -> str:
        return (
            f"{IDENTIFIER_PREFIX}.{self.type_code}.{self.issuer_code}.{self.serial}"
            f".{self.version:03d}.{self.check_character}"
        )

    def next_version(self) -> LicenseIdentifier:
        """The identifier of the license that supersedes this one (same serial)."""
        if self.version >= MAX_VERSION:
            raise InvalidIdentifierError(
                f"license {self} is at version {MAX_VERSION}, the last GB/T 36904 allows"
            )
        return LicenseIdentifier(self.type_code, self.issuer_code, self.serial, self.version + 1)


def parse_identifier(text: str) -> LicenseIdentifier:
    """Parse a dotted GB/T 36904 identifier, checking every part and the check character."""
    normalised = text.strip().upper()
    if len(normalised) > _MAX_IDENTIFIER_LENGTH:
        # Not echoed back: the input is too long to be an identifier and may be anything.
        raise InvalidIdentifierError(
            f"identifier has {len(normalised)} characters; a GB/T 36904 identifier has at most "
            f"{_MAX_IDENTIFIER_LENGTH}"
        )
    prefix = IDENTIFIER_PREFIX + "."
    if not normalised.startswith(prefix):
        raise InvalidIdentifierError(
            f"identifier {text!r} must start with {prefix!r} (the GB/T 36904 arc)"
        )
    parts = normalised[len(prefix) :].split(".")
    if len(parts) != 5:
        raise InvalidIdentifierError(
            f"identifier {text!r} must have 5 parts after {IDENTIFIER_PREFIX!r} (type code, "
            f"issuer code, serial, version, check character), not {len(parts)}"
        )
    type_code, issuer_code, serial, version, found = parts
    if not _VERSION.fullmatch(version) or version == "000":
        raise InvalidIdentifierError(
            f"identifier {text!r} has version {version!r}; it must be 3 digits, 001 to 999"
        )
    if len(found) != 1 or found not in MOD37_36_ALPHABET:
        raise InvalidIdentifierError(
            f"identifier {text!r} must end in one check character (0-9 or A-Z), not {found!r}"
        )
    try:
        identifier = LicenseIdentifier(type_code, issuer_code, serial, int(version))
    except InvalidIdentifierError as exc:
        raise InvalidIdentifierError(f"identifier {text!r}: {exc.message}") from exc
    expected = identifier.check_character
    if found != expected:
        raise InvalidIdentifierError(
            f"identifier {text!r} has check character {found!r}, "
            f"GB/T 36904 (ISO/IEC 7064 MOD 37,36) gives {expected!r}"
        )
    return identifier

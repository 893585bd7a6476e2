"""Who a license is issued to: holder ID types, their checks, and public masking.

The holder ID type codes (持证主体代码类型) follow the national e-license
standards (GB/T 36903 style): ``001`` for a unified social credit code
(GB 32100) and the public-security certificate codes for people (``111``
citizen ID number per GB 11643, ``414`` passport, ``516``/``511`` the
Hong Kong/Macao and Taiwan travel permits, ``554`` the foreigner's permanent
residence ID card). Public pages show people only masked (个人信息保护法);
an organisation's name and credit code are public anyway.
"""

from __future__ import annotations

import re
from enum import StrEnum

from trustsvc.codes.identifiers import validate_citizen_id, validate_credit_code
from trustsvc.errors import InvalidInputError


class HolderIdType(StrEnum):
    """The kind of code that identifies a holder; the value is the standard's code."""

    CITIZEN_ID = "111"
    CREDIT_CODE = "001"
    PASSPORT = "414"
    HONG_KONG_MACAO_PERMIT = "516"
    TAIWAN_PERMIT = "511"
    FOREIGN_PERMANENT_RESIDENT_ID = "554"

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    @property
    def is_person(self) -> bool:
        """True when the holder is a natural person, whose name and ID are masked in public."""
        return self is not HolderIdType.CREDIT_CODE


_LABELS: dict[HolderIdType, tuple[str, str]] = {
    HolderIdType.CITIZEN_ID: ("公民身份号码", "Citizen ID number"),
    HolderIdType.CREDIT_CODE: ("统一社会信用代码", "Unified social credit code"),
    HolderIdType.PASSPORT: ("护照号码", "Passport number"),
    HolderIdType.HONG_KONG_MACAO_PERMIT: (
        "港澳居民来往内地通行证",
        "Mainland Travel Permit for Hong Kong and Macao Residents",
    ),
    HolderIdType.TAIWAN_PERMIT: (
        "台湾居民来往大陆通行证",
        "Mainland Travel Permit for Taiwan Residents",
    ),
    HolderIdType.FOREIGN_PERMANENT_RESIDENT_ID: (
        "外国人永久居留身份证",
        "Foreign Permanent Resident ID Card",
    ),
}

_PASSPORT = re.compile(r"[A-Z0-9]{5,17}")
_HONG_KONG_MACAO_PERMIT = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
_TAIWAN_PERMIT = re.compile(r"[0-9]{8}|[0-9]{10}")
# The 2004 card: ISO 3166 alpha-3 nationality, then 12 digits.
_PERMANENT_RESIDENT_OLD = re.compile(r"[A-Z]{3}[0-9]{12}")
# The 2017 and 2023 cards: a leading 9 sets them apart from citizen ID numbers,
# and the last character is a GB 11643 check character.
_PERMANENT_RESIDENT_NEW = re.compile(r"9[0-9]{16}[0-9X]")


def parse_holder_id_type(code: HolderIdType | str) -> HolderIdType:
    """The holder ID type for a code such as ``"001"``, or raise listing the known codes."""
    try:
        return HolderIdType(code.strip() if isinstance(code, str) else code)
    except ValueError:
        allowed = ", ".join(f"{kind.value} {kind.label_zh}" for kind in HolderIdType)
        raise InvalidInputError(
            f"unknown holder ID type code {code!r}; allowed: {allowed}"
        ) from None


def validate_holder_id(id_type: HolderIdType | str, value: str) -> str:
    """Return the holder ID normalised (stripped, upper-case), or raise naming the problem."""
    kind = parse_holder_id_type(id_type)
    normalised = value.strip().upper()
    if kind is HolderIdType.CITIZEN_ID:
        return validate_citizen_id(normalised)
    if kind is HolderIdType.CREDIT_CODE:
        return validate_credit_code(normalised)
    if kind is HolderIdType.PASSPORT:
        if not _PASSPORT.fullmatch(normalised):
            raise InvalidInputError("passport number must be 5 to 17 letters or digits")
        return normalised
    if kind is HolderIdType.HONG_KONG_MACAO_PERMIT:
        if not _HONG_KONG_MACAO_PERMIT.fullmatch(normalised):
            raise InvalidInputError(
                "Hong Kong/Macao travel permit number must be H or M followed by 8 or 10 digits"
            )
        return normalised
    if kind is HolderIdType.TAIWAN_PERMIT:
        if not _TAIWAN_PERMIT.fullmatch(normalised):
            raise InvalidInputError("Taiwan travel permit number must be 8 or 10 digits")
        return normalised
    return _validate_permanent_resident_id(normalised)


def _validate_permanent_resident_id(normalised: str) -> str:
    if _PERMANENT_RESIDENT_OLD.fullmatch(normalised):
        return normalised
    if _PERMANENT_RESIDENT_NEW.fullmatch(normalised):
        try:
            return validate_citizen_id(normalised)
        except InvalidInputError as exc:
            raise InvalidInputError(
                "foreign permanent resident ID number "
                + exc.message.removeprefix("citizen ID number ")
            ) from exc
    raise InvalidInputError(
        "foreign permanent resident ID number must be 3 letters and 12 digits (2004 card) "
        "or 9 followed by 16 digits and a check character (2017 and later cards)"
    )


def mask_holder_id(id_type: HolderIdType | str, value: str) -> str:
    """The holder ID as a public page may show it.

    A citizen ID keeps its region (first 6) and last 4; other personal IDs their
    first 2 and last 2; a credit code is public and shown whole.
    """
    kind = parse_holder_id_type(id_type)
    if not kind.is_person:
        return value
    head, tail = (6, 4) if kind is HolderIdType.CITIZEN_ID else (2, 2)
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


#: What stands for the rest of a person's name, whatever its length.
NAME_MASK = "**"


def mask_holder_name(name: str, id_type: HolderIdType | str) -> str:
    """The holder's name as a public page may show it: a person's first character only.

    The stars are always the same two: one star per character would tell a
    two-character name from a three-character one, which with the first
    character and the place of issue narrows a person down. An organisation's
    name is public and shown whole.
    """
    kind = parse_holder_id_type(id_type)
    stripped = name.strip()
    if not kind.is_person:
        return stripped
    return stripped[:1] + NAME_MASK

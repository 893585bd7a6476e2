"""The license type (证照类型) model: what a type declares, and license data that passed it.

Frozen values only; reading a type from its TOML file is ``loader``'s job and
checking a record against a type is ``data``'s. The type code is the GB/T 36904
license type code (the defining authority's credit code and 3 digits).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from trustsvc.codes.identifiers import validate_credit_code
from trustsvc.errors import InvalidIdentifierError, InvalidInputError
from trustsvc.licenses.holders import HolderIdType
from trustsvc.licenses.issuers import IssuerRule
from trustsvc.licenses.types.values import (
    normalise_date,
    normalise_number,
    normalise_text,
    require_text,
    shown,
)

HOLDER_KEYS = ("holder_name", "holder_id_type", "holder_id")
VALIDITY_KEYS = ("valid_from", "valid_until")
#: Keys every license has; a type's fields may not reuse them.
RESERVED_KEYS = frozenset(HOLDER_KEYS + VALIDITY_KEYS)
HOLDER_NAME_MAX_LENGTH = 200

_REGION = re.compile(r"[0-9]{6}")


class FieldKind(StrEnum):
    """How a field's value is written and checked."""

    TEXT = "text"
    MULTILINE = "multiline"
    NUMBER = "number"
    DATE = "date"
    ENUM = "enum"
    CREDIT_CODE = "credit_code"
    """A GB 32100 unified social credit code, its check character verified."""


class ValidityRule(StrEnum):
    """How a license's end of validity is set."""

    FIXED_YEARS = "fixed_years"
    OPEN_ENDED = "open_ended"
    PER_LICENSE = "per_license"


class LayoutStyle(StrEnum):
    """How the rendered license presents its fields."""

    TABLE = "table"
    DOCUMENT = "document"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a license type."""

    key: str
    """Key in the license data, e.g. ``registered_capital``."""
    label_zh: str
    label_en: str
    kind: FieldKind
    required: bool
    example: str
    """A valid value, used for ``example_data`` and checked when the type loads."""
    pattern: str | None = None
    """Regular expression the whole normalised value must match."""
    choices: tuple[str, ...] = ()
    """The allowed values of an enum field."""
    max_length: int | None = None
    unit: str | None = None
    """Unit printed after a number, e.g. ``万元``."""
    from_holder_id: HolderIdType | None = None
    """For holders of this ID type the field is the holder ID (not kept, or checked)."""

    def is_holder_id(self, id_type: HolderIdType | None) -> bool:
        """Whether, for a holder of this ID type, the field is the holder ID itself."""
        return self.from_holder_id is not None and id_type is self.from_holder_id

    def normalise(self, value: object) -> str:
        """The value in canonical text form, or ``InvalidInputError`` saying what is wrong."""
        if self.kind is FieldKind.NUMBER:
            normalised = normalise_number(value)
        elif self.kind is FieldKind.DATE:
            normalised = normalise_date(value).isoformat()
        elif self.kind is FieldKind.CREDIT_CODE:
            try:
                normalised = validate_credit_code(require_text(value))
            except InvalidIdentifierError as exc:
                raise InvalidInputError(exc.message) from exc
        else:
            normalised = normalise_text(value, multiline=self.kind is FieldKind.MULTILINE)
        if self.kind is FieldKind.ENUM and normalised not in self.choices:
            raise InvalidInputError(f"{shown(normalised)} is not one of: {', '.join(self.choices)}")
        if self.max_length is not None and len(normalised) > self.max_length:
            raise InvalidInputError(
                f"has {len(normalised)} characters; at most {self.max_length} allowed"
            )
        if self.pattern is not None and not re.fullmatch(self.pattern, normalised):
            raise InvalidInputError(
                f"{shown(normalised)} does not match the pattern {self.pattern}"
            )
        return normalised


@dataclass(frozen=True)
class Validity:
    """How long licenses of a type are valid."""

    rule: ValidityRule
    years: int | None = None
    """Number of years, for ``fixed_years`` only."""

    def fixed_end(self, valid_from: date) -> date | None:
        """The last valid day under ``fixed_years``; None for the other rules."""
        if self.rule is not ValidityRule.FIXED_YEARS or self.years is None:
            return None
        try:
            anniversary = valid_from.replace(year=valid_from.year + self.years)
        except ValueError:
            # From 29 February into a common year: the period ends with February.
            anniversary = date(valid_from.year + self.years, 3, 1)
        return anniversary - timedelta(days=1)


@dataclass(frozen=True)
class Layout:
    """Which fields the rendered license shows, and how."""

    style: LayoutStyle
    fields: tuple[str, ...]
    """Field keys in the order they are shown."""
    headline: str | None = None
    """A field printed prominently at the top instead of in the table."""


@dataclass(frozen=True)
class LicenseType:
    """A kind of e-license, as declared in its TOML file."""

    key: str
    """Short slug used on the CLI and in URLs, e.g. ``business-license``."""
    code: str
    """GB/T 36904 license type code (21 characters)."""
    name_zh: str
    name_en: str
    number_format: str
    """Python format string over ``region``, ``year`` and ``sequence``."""
    holder_kinds: tuple[HolderIdType, ...]
    validity: Validity
    fields: tuple[FieldSpec, ...]
    layout: Layout
    example: tuple[tuple[str, str], ...]
    """Holder and validity keys of the example record (the ``[example]`` table)."""
    issuers: IssuerRule
    """Which departments may issue it (the ``[issuers]`` table), before explicit grants."""
    unique_per_holder: bool = False
    """A holder may hold at most one current (valid or suspended) license of this type."""

    def field(self, key: str) -> FieldSpec:
        for spec in self.fields:
            if spec.key == key:
                return spec
        raise KeyError(key)

    @property
    def layout_fields(self) -> tuple[FieldSpec, ...]:
        """The fields to show in the table or document, in layout order (not the headline)."""
        return tuple(self.field(key) for key in self.layout.fields if key != self.layout.headline)

    def format_number(self, *, region: str, year: int, sequence: int) -> str:
        """The printed license number (证照编号) for a GB/T 2260 region, year and sequence."""
        if not _REGION.fullmatch(region):
            raise InvalidInputError(f"region code {region!r} must be 6 digits (GB/T 2260)")
        if not 1000 <= year <= 9999:
            raise InvalidInputError(f"year {year} must have 4 digits")
        if sequence < 1:
            raise InvalidInputError(f"sequence {sequence} must be at least 1")
        return self.number_format.format(region=region, year=year, sequence=sequence)

    def number_scope_year(self, year: int) -> int:
        """The year whose counter numbers this type: 0 when its numbers do not print a year.

        A format without ``{year}`` (食品经营许可证: JY1 + region + sequence) must
        not start again at 1 each January, or its numbers would repeat.
        """
        names = {name for _, name, _, _ in string.Formatter().parse(self.number_format)}
        return year if "year" in names else 0


@dataclass(frozen=True)
class LicenseData:
    """License data that passed its type's rules, every value normalised."""

    holder_name: str
    holder_id_type: HolderIdType
    holder_id: str
    valid_from: date
    valid_until: date | None
    """None for an open-ended (长期) license."""
    fields: tuple[tuple[str, str], ...]
    """(key, value) for every field given, in the type's field order."""

    def value(self, key: str) -> str | None:
        """A field's value, or None when the (optional) field was not given."""
        return dict(self.fields).get(key)

    def as_dict(self) -> dict[str, str]:
        """The flat form that ``validate_license_data`` accepts and returns unchanged."""
        flat = {
            "holder_name": self.holder_name,
            "holder_id_type": self.holder_id_type.value,
            "holder_id": self.holder_id,
            "valid_from": self.valid_from.isoformat(),
        }
        if self.valid_until is not None:
            flat["valid_until"] = self.valid_until.isoformat()
        flat.update(self.fields)
        return flat

"""License types (证照类型), declared in TOML, and the validation of license data against them.

Each type is one file ``licenses/types/<key>.toml``; adding a type needs no code.
The type code is the GB/T 36904 license type code (the defining authority's
credit code and 3 digits). Every file is checked strictly when loaded: unknown
keys, wrong value types, duplicate fields, bad patterns and an example that
fails the type's own rules stop the service with a ``ConfigurationError``.

Schema (every key required unless marked optional)::

    key = "business-license"            # slug, equal to the file name without .toml
    code = "11100000MB0000019L001"      # 21-character GB/T 36904 license type code
    name_zh = "营业执照"
    name_en = "Business License"
    number_format = "{region}{year}{sequence:06d}"   # the printed license number
                                        # (证照编号); only {region}, {year}, {sequence}
    holder_kinds = ["001"]              # allowed holder ID type codes (see holders.py)
    unique_per_holder = true            # optional, default false: a holder may hold at
                                        # most one current (valid or suspended) license
                                        # of this type; a second is refused unless it is
                                        # a change (变更) of the first

    [issuers]                           # who may issue it (see issuers.py); at least one key
    any_department = true               # optional: every department (then nothing else)
    kinds = ["market-regulation"]       # optional: department kinds (slugs of DepartmentKind)
    regions = ["33"]                    # optional: GB/T 2260 prefixes (2, 4 or 6 digits);
                                        # with kinds, a department must match both
    codes = ["..."]                     # optional: credit codes entitled outright

    [validity]
    rule = "open_ended"                 # "fixed_years" | "open_ended" (长期) | "per_license"
    years = 5                           # only with "fixed_years"

    [[fields]]                          # one table per field, in printing order
    key = "name"                        # [a-z][a-z0-9_]*, not a holder/validity key
    label_zh = "名称"
    label_en = "Name"
    kind = "text"                       # "text" | "multiline" | "number" | "date" | "enum"
                                        # | "credit_code" (GB 32100, check character checked)
    required = true                     # optional, default true
    pattern = "..."                     # optional regex the whole value must match
                                        # (text and number fields)
    choices = ["...", "..."]            # enum fields only, and required for them
    max_length = 100                    # optional (text, multiline, number fields)
    unit = "万元"                       # optional unit printed with the number (number fields)
    from_holder_id = "001"              # optional (text and credit_code fields): when the
                                        # holder's ID type is this code, the field IS the
                                        # holder ID: it may be left out; given, it must
                                        # equal holder_id. Either way it is not kept among
                                        # the fields (the ID is stored only sealed); the
                                        # page prints the holder ID in its place
    example = "杭州示例科技有限公司"    # always a string; must pass the field's rules

    [layout]                            # optional
    style = "table"                     # "table" (label/value rows) or "document"
                                        # (title, then the multiline paragraphs)
    fields = ["name", "..."]            # optional; fields to show, default all in order
    headline = "credit_code"            # optional; a field printed prominently at the top
                                        # (as the 营业执照 prints its credit code), not in
                                        # the table

    [example]                           # the holder and validity of the example record
    holder_name = "..."
    holder_id_type = "001"
    holder_id = "..."
    valid_from = "2026-01-05"
    valid_until = "2027-01-04"          # optional; required for "per_license"

License data is a flat mapping (from JSON or a CSV row): ``holder_name``,
``holder_id_type``, ``holder_id``, ``valid_from`` (default today),
``valid_until`` and one key per field. ``valid_until`` is required for
``per_license`` (not before ``valid_from``), must be absent for ``open_ended``,
and for ``fixed_years`` is valid_from + years - 1 day (if given, it must equal
that).

Every date (valid_from, valid_until and each date field) must lie between
``EARLIEST_DATE`` (1949-10-01) and 100 years after today (``today`` as the
caller gives it: the service's day in its time zone); outside that range it is
a typing error, refused with the field named.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from trustsvc.codes.identifiers import validate_credit_code, validate_license_type_code
from trustsvc.departments.kinds import parse_kind
from trustsvc.errors import (
    ConfigurationError,
    InvalidIdentifierError,
    InvalidInputError,
    InvalidLicenseDataError,
    NotFoundError,
)
from trustsvc.licenses.holders import HolderIdType, parse_holder_id_type, validate_holder_id
from trustsvc.licenses.issuers import IssuerRule, validate_region_prefix
from trustsvc.text import check_encodable, clean_name

_T = TypeVar("_T")

HOLDER_KEYS = ("holder_name", "holder_id_type", "holder_id")
VALIDITY_KEYS = ("valid_from", "valid_until")
#: Keys every license has; a type's fields may not reuse them.
RESERVED_KEYS = frozenset(HOLDER_KEYS + VALIDITY_KEYS)
HOLDER_NAME_MAX_LENGTH = 200

_TYPE_KEY = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_FIELD_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_REGION = re.compile(r"[0-9]{6}")
# Control characters other than tab and newline never belong in license text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NUMBER_FORMAT_NAMES = frozenset({"region", "year", "sequence"})
#: No license date lies before the founding of the People's Republic.
EARLIEST_DATE = date(1949, 10, 1)
#: Nor more than this many years after today.
LATEST_YEARS_AHEAD = 100


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
            normalised = _normalise_number(value)
        elif self.kind is FieldKind.DATE:
            normalised = _normalise_date(value).isoformat()
        elif self.kind is FieldKind.CREDIT_CODE:
            try:
                normalised = validate_credit_code(_require_text(value))
            except InvalidIdentifierError as exc:
                raise InvalidInputError(exc.message) from exc
        else:
            normalised = _normalise_text(value, multiline=self.kind is FieldKind.MULTILINE)
        if self.kind is FieldKind.ENUM and normalised not in self.choices:
            raise InvalidInputError(
                f"{_shown(normalised)} is not one of: {', '.join(self.choices)}"
            )
        if self.max_length is not None and len(normalised) > self.max_length:
            raise InvalidInputError(
                f"has {len(normalised)} characters; at most {self.max_length} allowed"
            )
        if self.pattern is not None and not re.fullmatch(self.pattern, normalised):
            raise InvalidInputError(
                f"{_shown(normalised)} does not match the pattern {self.pattern}"
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


# ---- validating license data ---------------------------------------------------


def validate_license_data(
    license_type: LicenseType, data: Mapping[str, object], today: date
) -> LicenseData:
    """Check ``data`` against the type and normalise it; ``today`` is the default valid_from.

    Every failing key is reported at once in one ``InvalidLicenseDataError``.
    """
    problems: dict[str, str] = {}

    holder_name = _required(
        problems,
        data,
        "holder_name",
        lambda value: clean_name(value, "the name", HOLDER_NAME_MAX_LENGTH),
    )
    holder_id_type = _required(
        problems, data, "holder_id_type", lambda value: _holder_kind(license_type, value)
    )
    holder_id: str | None = None
    raw_holder_id = _value_of(data, "holder_id")
    if raw_holder_id is None:
        problems["holder_id"] = "required"
    elif holder_id_type is not None:
        # Without a usable ID type there is no rule to check the ID against.
        kind = holder_id_type
        holder_id = _checked(
            problems, "holder_id", lambda: validate_holder_id(kind, _require_text(raw_holder_id))
        )

    valid_from: date | None = today
    raw_from = _value_of(data, "valid_from")
    if raw_from is not None:
        valid_from = _checked(problems, "valid_from", lambda: _normalise_date(raw_from))
    valid_until = _valid_until(problems, license_type, data, valid_from)
    _check_range(problems, "valid_from", valid_from, today)
    _check_range(problems, "valid_until", valid_until, today)

    values: list[tuple[str, str]] = []
    for spec in license_type.fields:
        raw = _value_of(data, spec.key)
        # A field that is the holder ID is checked against it and then not kept:
        # the holder ID is stored sealed, never among the fields in clear.
        is_holder_id = spec.is_holder_id(holder_id_type)
        if raw is None:
            if is_holder_id:
                pass
            elif spec.from_holder_id is not None and holder_id_type is None:
                pass  # whether it is the holder ID is unknown; holder_id_type is reported
            elif spec.required:
                problems[spec.key] = "required"
            continue
        try:
            value = spec.normalise(raw)
        except InvalidInputError as exc:
            problems[spec.key] = exc.message
            continue
        if is_holder_id and holder_id is not None and value != holder_id:
            assert spec.from_holder_id is not None
            problems[spec.key] = (
                f"{_shown(value)} is not the holder ID {holder_id}: for holder ID type "
                f"{spec.from_holder_id.value} ({spec.from_holder_id.label_zh}) it is the "
                "holder ID (leave it out to have it filled in)"
            )
            continue
        if is_holder_id:
            continue
        if spec.kind is FieldKind.DATE:
            _check_range(problems, spec.key, date.fromisoformat(value), today)
        values.append((spec.key, value))

    known = RESERVED_KEYS | {spec.key for spec in license_type.fields}
    for key in data:
        if key not in known:
            problems[key] = f"unknown key: {license_type.key} has no such field"

    if problems:
        raise InvalidLicenseDataError(problems)
    assert holder_name is not None and holder_id_type is not None and holder_id is not None
    assert valid_from is not None
    return LicenseData(
        holder_name=holder_name,
        holder_id_type=holder_id_type,
        holder_id=holder_id,
        valid_from=valid_from,
        valid_until=valid_until,
        fields=tuple(values),
    )


def example_data(license_type: LicenseType) -> dict[str, str]:
    """A complete example record for the type, which ``validate_license_data`` accepts.

    A field that is the holder ID for the example's holder (``from_holder_id``) is
    left out: it adds nothing, and a record whose holder ID is changed stays valid.
    """
    data = dict(license_type.example)
    id_type = data.get("holder_id_type")
    data.update(
        (spec.key, spec.example)
        for spec in license_type.fields
        if spec.from_holder_id is None or spec.from_holder_id.value != id_type
    )
    return data


def _valid_until(
    problems: dict[str, str],
    license_type: LicenseType,
    data: Mapping[str, object],
    valid_from: date | None,
) -> date | None:
    validity = license_type.validity
    raw = _value_of(data, "valid_until")
    if validity.rule is ValidityRule.OPEN_ENDED:
        if raw is not None:
            problems["valid_until"] = (
                f"must be absent: a {license_type.key} is valid with no end date (长期)"
            )
        return None
    given = None if raw is None else _checked(problems, "valid_until", lambda: _normalise_date(raw))
    if validity.rule is ValidityRule.FIXED_YEARS:
        if valid_from is None:
            return None
        computed = validity.fixed_end(valid_from)
        if raw is not None and given is not None and given != computed:
            problems["valid_until"] = (
                f"must be {computed} (valid_from + {validity.years} years - 1 day) or absent"
            )
        return computed
    if raw is None:
        problems["valid_until"] = f"required: a {license_type.key} states its end of validity"
        return None
    if given is not None and valid_from is not None and given < valid_from:
        problems["valid_until"] = f"{given} is before valid_from {valid_from}"
    return given


def latest_date(today: date) -> date:
    """The last date license data may name: ``LATEST_YEARS_AHEAD`` years after today."""
    try:
        return today.replace(year=today.year + LATEST_YEARS_AHEAD)
    except ValueError:  # 29 February, and the year 100 on is a common year
        return date(today.year + LATEST_YEARS_AHEAD, 2, 28)


def _check_range(problems: dict[str, str], key: str, day: date | None, today: date) -> None:
    """Refuse a date no license can carry: a typing error, not a real date."""
    if day is None or key in problems:
        return
    if day < EARLIEST_DATE:
        problems[key] = f"{day} is before {EARLIEST_DATE}; no license carries such a date"
    elif day > latest_date(today):
        problems[key] = (
            f"{day} is more than {LATEST_YEARS_AHEAD} years after today ({today}); "
            "no license carries such a date"
        )


def _holder_kind(license_type: LicenseType, value: object) -> HolderIdType:
    kind = parse_holder_id_type(_require_text(value))
    if kind not in license_type.holder_kinds:
        allowed = ", ".join(f"{k.value} ({k.label_zh})" for k in license_type.holder_kinds)
        raise InvalidInputError(
            f"holder ID type {kind.value} ({kind.label_zh}) is not allowed for "
            f"{license_type.name_zh}; allowed: {allowed}"
        )
    return kind


def _value_of(data: Mapping[str, object], key: str) -> object | None:
    """The value under ``key``, or None when it is missing, null or blank (an empty CSV cell)."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _checked(problems: dict[str, str], key: str, check: Callable[[], _T]) -> _T | None:
    try:
        return check()
    except InvalidInputError as exc:
        problems[key] = exc.message
        return None


def _required(
    problems: dict[str, str],
    data: Mapping[str, object],
    key: str,
    normalise: Callable[[object], _T],
) -> _T | None:
    value = _value_of(data, key)
    if value is None:
        problems[key] = "required"
        return None
    return _checked(problems, key, lambda: normalise(value))


def _require_text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"must be text, not {type(value).__name__}")
    return value.strip()


def _normalise_text(value: object, *, multiline: bool = False) -> str:
    text = unicodedata.normalize("NFC", check_encodable(_require_text(value), "the text"))
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    elif "\n" in text or "\r" in text:
        raise InvalidInputError("must be one line")
    if _CONTROL.search(text):
        raise InvalidInputError("contains control characters")
    return text


def _normalise_number(value: object) -> str:
    if isinstance(value, bool):
        raise InvalidInputError("must be a number, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError("must be a finite number")
        return format(Decimal(repr(value)), "f")
    text = _require_text(value)
    if not _NUMBER.fullmatch(text):
        raise InvalidInputError(f"{_shown(text)} is not a number (digits, optional decimals)")
    return format(Decimal(text), "f")


def _normalise_date(value: object) -> date:
    text = _require_text(value)
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise InvalidInputError(f"{_shown(text)} is not a date in YYYY-MM-DD form")


def _shown(value: str) -> str:
    """The value quoted for a message, cut short: input is echoed only as far as it helps."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


# ---- loading type files --------------------------------------------------------


def load_types(directory: Path | None = None) -> dict[str, LicenseType]:
    """Every license type in ``directory`` (default: the packaged types), by key."""
    source: Traversable = (
        directory if directory is not None else resources.files(__package__).joinpath("types")
    )
    if not source.is_dir():
        raise ConfigurationError(f"license type directory {source} does not exist")
    files = sorted(
        (entry for entry in source.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    if not files:
        raise ConfigurationError(f"license type directory {source} has no *.toml files")
    types: dict[str, LicenseType] = {}
    files_by_code: dict[str, str] = {}
    for file in files:
        try:
            license_type = _parse_type_file(file)
        except (_TypeFileError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"license type file {file}: {exc}") from exc
        if license_type.code in files_by_code:
            raise ConfigurationError(
                f"license type file {file}: code {license_type.code} is already used by "
                f"{files_by_code[license_type.code]}"
            )
        files_by_code[license_type.code] = str(file)
        types[license_type.key] = license_type
    return types


def get_type(types: Mapping[str, LicenseType], key_or_code: str) -> LicenseType:
    """The type with this key (or 21-character type code), or ``NotFoundError``."""
    wanted = key_or_code.strip()
    if wanted in types:
        return types[wanted]
    for license_type in types.values():
        if license_type.code == wanted.upper():
            return license_type
    raise NotFoundError(
        f"no license type {key_or_code!r}; known types: {', '.join(sorted(types)) or 'none'}"
    )


class _TypeFileError(Exception):
    """A rule of the schema is broken; ``load_types`` adds the file name."""


class _Table:
    """A TOML table read key by key, so that keys nobody read can be reported as unknown."""

    def __init__(self, data: Mapping[str, object], where: str) -> None:
        self._data = data
        self._read: list[str] = []
        #: Where the table is, for messages; a field renames it once its key is known.
        self.where = where

    def get(self, key: str, kind: type[_T], *, required: bool) -> _T | None:
        self._read.append(key)
        value = self._data.get(key)
        if value is None:
            if required:
                raise _TypeFileError(f"{self.where}: {key} is required")
            return None
        # bool is an int in Python, but `true` is no number in TOML.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _TypeFileError(
                f"{self.where}: {key} must be a {_TOML_TYPE_NAMES[kind]}, "
                f"not {type(value).__name__}"
            )
        return value

    def text(self, key: str) -> str:
        value = self.get(key, str, required=True)
        assert value is not None
        if not value.strip():
            raise _TypeFileError(f"{self.where}: {key} must not be empty")
        return value.strip()

    def optional_text(self, key: str) -> str | None:
        value = self.get(key, str, required=False)
        return None if value is None else value.strip()

    def texts(self, key: str, *, required: bool) -> tuple[str, ...] | None:
        values = self.get(key, list, required=required)
        if values is None:
            return None
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise _TypeFileError(f"{self.where}: {key} must be a non-empty list of strings")
        items = tuple(str(v).strip() for v in values)
        duplicates = sorted({item for item in items if items.count(item) > 1})
        if duplicates:
            raise _TypeFileError(f"{self.where}: {key} repeats {', '.join(duplicates)}")
        return items

    def table(self, key: str, *, required: bool) -> _Table | None:
        value = self.get(key, dict, required=required)
        return None if value is None else _Table(value, f"[{key}]")

    def tables(self, key: str) -> list[_Table]:
        values = self.get(key, list, required=True)
        assert values is not None
        if not values or not all(isinstance(v, dict) for v in values):
            raise _TypeFileError(f"{self.where}: {key} must be one or more [[{key}]] tables")
        return [_Table(v, f"[[{key}]] #{n}") for n, v in enumerate(values, start=1)]

    def finish(self) -> None:
        unknown = [key for key in self._data if key not in self._read]
        if unknown:
            raise _TypeFileError(
                f"{self.where}: unknown key {', '.join(unknown)}; allowed: {', '.join(self._read)}"
            )


_TOML_TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    list: "list",
    dict: "table",
}


def _parse_type_file(file: Traversable) -> LicenseType:
    top = _Table(tomllib.loads(file.read_bytes().decode("utf-8")), "top level")
    key = top.text("key")
    if not _TYPE_KEY.fullmatch(key):
        raise _TypeFileError(f"key {key!r} must be a lower-case slug such as 'business-license'")
    if file.name != f"{key}.toml":
        raise _TypeFileError(f"the file of type {key!r} must be named {key}.toml")
    try:
        code = validate_license_type_code(top.text("code"))
    except InvalidIdentifierError as exc:
        raise _TypeFileError(exc.message) from exc
    name_zh = top.text("name_zh")
    name_en = top.text("name_en")
    number_format = _parse_number_format(top.text("number_format"))
    holder_kinds = _parse_holder_kinds(top)
    issuers_table = top.table("issuers", required=True)
    assert issuers_table is not None
    issuers = _parse_issuers(issuers_table)
    unique_per_holder = top.get("unique_per_holder", bool, required=False) or False
    validity_table = top.table("validity", required=True)
    assert validity_table is not None
    validity = _parse_validity(validity_table)
    fields = _parse_fields(top.tables("fields"))
    layout = _parse_layout(top.table("layout", required=False), fields)
    example_table = top.table("example", required=True)
    assert example_table is not None
    example, example_day = _parse_example(example_table)
    top.finish()

    license_type = LicenseType(
        key=key,
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        number_format=number_format,
        holder_kinds=holder_kinds,
        validity=validity,
        fields=fields,
        layout=layout,
        example=example,
        issuers=issuers,
        unique_per_holder=unique_per_holder,
    )
    try:
        validate_license_data(license_type, example_data(license_type), example_day)
    except InvalidLicenseDataError as exc:
        raise _TypeFileError(
            "the example does not pass the type's own rules: "
            + "; ".join(f"{k}: {v}" for k, v in exc.problems.items())
        ) from exc
    return license_type


def _parse_number_format(number_format: str) -> str:
    try:
        names = {
            name for _, name, _, _ in string.Formatter().parse(number_format) if name is not None
        }
        unknown = names - _NUMBER_FORMAT_NAMES
        if unknown:
            raise _TypeFileError(
                f"number_format may use only {{region}}, {{year}} and {{sequence}}, "
                f"not {{{', '.join(sorted(unknown))}}}"
            )
        if "sequence" not in names:
            raise _TypeFileError("number_format must use {sequence}, or every number is the same")
        number_format.format(region="330106", year=2026, sequence=1)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise _TypeFileError(f"number_format {number_format!r} does not format: {exc}") from exc
    return number_format


def _parse_holder_kinds(top: _Table) -> tuple[HolderIdType, ...]:
    codes = top.texts("holder_kinds", required=True)
    assert codes is not None
    try:
        return tuple(parse_holder_id_type(code) for code in codes)
    except InvalidInputError as exc:
        raise _TypeFileError(f"holder_kinds: {exc.message}") from exc


def _parse_issuers(table: _Table) -> IssuerRule:
    any_department = table.get("any_department", bool, required=False)
    kinds = table.texts("kinds", required=False) or ()
    regions = table.texts("regions", required=False) or ()
    codes = table.texts("codes", required=False) or ()
    table.finish()
    if any_department is not None and (not any_department or kinds or regions or codes):
        raise _TypeFileError("[issuers]: any_department = true stands alone (or leave it out)")
    if not (any_department or kinds or regions or codes):
        raise _TypeFileError("[issuers]: name who may issue it (any_department, kinds, ...)")
    try:
        return IssuerRule(
            any_department=bool(any_department),
            kinds=frozenset(parse_kind(kind) for kind in kinds),
            regions=tuple(validate_region_prefix(prefix) for prefix in regions),
            codes=frozenset(validate_credit_code(code) for code in codes),
        )
    except InvalidInputError as exc:
        raise _TypeFileError(f"[issuers]: {exc.message}") from exc


def _parse_validity(table: _Table) -> Validity:
    rule_text = table.text("rule")
    years = table.get("years", int, required=False)
    table.finish()
    try:
        rule = ValidityRule(rule_text)
    except ValueError:
        raise _TypeFileError(
            f"[validity]: rule {rule_text!r} must be one of {', '.join(ValidityRule)}"
        ) from None
    if rule is ValidityRule.FIXED_YEARS:
        if years is None or not 1 <= years <= 100:
            raise _TypeFileError("[validity]: fixed_years needs years = 1 to 100")
    elif years is not None:
        raise _TypeFileError(f"[validity]: years is only for rule = 'fixed_years', not {rule}")
    return Validity(rule=rule, years=years)


def _parse_fields(tables: Sequence[_Table]) -> tuple[FieldSpec, ...]:
    fields: list[FieldSpec] = []
    for table in tables:
        spec = _parse_field(table)
        if any(existing.key == spec.key for existing in fields):
            raise _TypeFileError(f"field {spec.key!r} is declared twice")
        fields.append(spec)
    return tuple(fields)


def _parse_field(table: _Table) -> FieldSpec:
    key = table.text("key")
    where = table.where = f"field {key!r}"
    label_zh = table.text("label_zh")
    label_en = table.text("label_en")
    kind_text = table.text("kind")
    required = table.get("required", bool, required=False)
    pattern = table.optional_text("pattern")
    choices = table.texts("choices", required=False)
    max_length = table.get("max_length", int, required=False)
    unit = table.optional_text("unit")
    from_holder_id_text = table.optional_text("from_holder_id")
    example = table.get("example", str, required=True)
    table.finish()
    assert example is not None

    if not _FIELD_KEY.fullmatch(key):
        raise _TypeFileError(f"{where}: key must be lower-case letters, digits and _")
    if key in RESERVED_KEYS:
        raise _TypeFileError(f"{where}: key is reserved for every license")
    try:
        kind = FieldKind(kind_text)
    except ValueError:
        raise _TypeFileError(
            f"{where}: kind {kind_text!r} must be one of {', '.join(FieldKind)}"
        ) from None
    if pattern is not None:
        if kind not in (FieldKind.TEXT, FieldKind.NUMBER):
            raise _TypeFileError(f"{where}: pattern is only for text and number fields")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _TypeFileError(f"{where}: pattern {pattern!r} does not compile: {exc}") from exc
    if (kind is FieldKind.ENUM) != (choices is not None):
        raise _TypeFileError(f"{where}: choices are required for enum fields and only for them")
    if max_length is not None:
        if kind in (FieldKind.ENUM, FieldKind.DATE, FieldKind.CREDIT_CODE):
            raise _TypeFileError(f"{where}: max_length is not for {kind} fields")
        if max_length < 1:
            raise _TypeFileError(f"{where}: max_length must be at least 1")
    if unit is not None and kind is not FieldKind.NUMBER:
        raise _TypeFileError(f"{where}: unit is only for number fields")
    from_holder_id = None
    if from_holder_id_text is not None:
        if kind not in (FieldKind.TEXT, FieldKind.CREDIT_CODE):
            raise _TypeFileError(f"{where}: from_holder_id is only for text and credit_code")
        try:
            from_holder_id = parse_holder_id_type(from_holder_id_text)
        except InvalidInputError as exc:
            raise _TypeFileError(f"{where}: from_holder_id: {exc.message}") from exc
    spec = FieldSpec(
        key=key,
        label_zh=label_zh,
        label_en=label_en,
        kind=kind,
        required=True if required is None else required,
        example=example,
        pattern=pattern,
        choices=choices or (),
        max_length=max_length,
        unit=unit,
        from_holder_id=from_holder_id,
    )
    # Checked here too: an example the example record leaves out is checked nowhere else.
    try:
        spec.normalise(example)
    except InvalidInputError as exc:
        raise _TypeFileError(
            f"{where}: the example does not pass the field's rules: {exc.message}"
        ) from exc
    return spec


def _parse_layout(table: _Table | None, fields: tuple[FieldSpec, ...]) -> Layout:
    all_keys = tuple(spec.key for spec in fields)
    if table is None:
        return Layout(style=LayoutStyle.TABLE, fields=all_keys)
    style_text = table.text("style")
    keys = table.texts("fields", required=False)
    headline = table.optional_text("headline")
    table.finish()
    try:
        style = LayoutStyle(style_text)
    except ValueError:
        raise _TypeFileError(
            f"[layout]: style {style_text!r} must be one of {', '.join(LayoutStyle)}"
        ) from None
    keys = keys or all_keys
    unknown = [key for key in keys if key not in all_keys]
    if unknown:
        raise _TypeFileError(f"[layout]: fields names unknown fields {', '.join(unknown)}")
    kinds = {spec.key: spec.kind for spec in fields}
    if style is LayoutStyle.DOCUMENT and not any(kinds[k] is FieldKind.MULTILINE for k in keys):
        raise _TypeFileError("[layout]: a document layout needs at least one multiline field")
    if headline is not None:
        if headline not in keys:
            raise _TypeFileError(f"[layout]: headline {headline!r} is not a field shown")
        if kinds[headline] is FieldKind.MULTILINE:
            raise _TypeFileError(f"[layout]: headline {headline!r} must be a one-line field")
    return Layout(style=style, fields=keys, headline=headline)


def _parse_example(table: _Table) -> tuple[tuple[tuple[str, str], ...], date]:
    example: list[tuple[str, str]] = []
    for key in (*HOLDER_KEYS, *VALIDITY_KEYS):
        value = table.text(key) if key != "valid_until" else table.optional_text(key)
        if value is not None:
            example.append((key, value))
    table.finish()
    valid_from = dict(example)["valid_from"]
    try:
        day = _normalise_date(valid_from)
    except InvalidInputError as exc:
        raise _TypeFileError(f"[example]: valid_from {exc.message}") from exc
    return tuple(example), day

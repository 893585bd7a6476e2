"""Loading the license type catalogue: one TOML file per type, checked strictly.

A file is read in four steps; a step that fails stops the service with a
``ConfigurationError`` naming the file and every problem that step found,
each by its table and key: the TOML syntax; the shape against ``schema``
(unknown keys, wrong value types, missing or empty values); the rules that
span keys (identifiers, the number format, issuers, validity, each field's
kind and options, the layout); and the example record, checked against the
type's own rules. Adding a type needs no code.
"""

from __future__ import annotations

import functools
import re
import string
import tomllib
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from trustsvc.codes.identifiers import validate_credit_code, validate_license_type_code
from trustsvc.departments.kinds import parse_kind
from trustsvc.errors import (
    ConfigurationError,
    InvalidInputError,
    InvalidLicenseDataError,
    NotFoundError,
)
from trustsvc.licenses.holders import HolderIdType, parse_holder_id_type
from trustsvc.licenses.issuers import IssuerRule, validate_region_prefix
from trustsvc.licenses.types.data import example_data, validate_license_data
from trustsvc.licenses.types.model import (
    HOLDER_KEYS,
    RESERVED_KEYS,
    VALIDITY_KEYS,
    FieldKind,
    FieldSpec,
    Layout,
    LayoutStyle,
    LicenseType,
    Validity,
    ValidityRule,
)
from trustsvc.licenses.types.schema import (
    ExampleTable,
    FieldTable,
    IssuersTable,
    LayoutTable,
    TypeFile,
    TypeFileError,
    ValidityTable,
    read_type_file,
)
from trustsvc.licenses.types.values import normalise_date

_T = TypeVar("_T")

#: The data folder of the shipped types, beside this package.
CATALOGUE = "catalogue"

_TYPE_KEY = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_FIELD_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_NUMBER_FORMAT_NAMES = frozenset({"region", "year", "sequence"})


def load_types(directory: Path | None = None) -> dict[str, LicenseType]:
    """Every license type in ``directory`` (default: the shipped catalogue), by key."""
    if directory is None:
        return dict(_shipped_catalogue())
    return _load_directory(directory)


@functools.cache
def _shipped_catalogue() -> tuple[tuple[str, LicenseType], ...]:
    """The shipped types, read once per process: package data does not change under it.

    The service, the entitlement snapshot and the printout each ask for them at
    start-up; the values are frozen, and every caller gets a dict of its own.
    A bad file raises each time (an exception is not cached).
    """
    return tuple(_load_directory(resources.files("trustsvc.licenses").joinpath(CATALOGUE)).items())


def _load_directory(source: Traversable) -> dict[str, LicenseType]:
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
            license_type = _read_type_file(file)
        except TypeFileError as exc:
            raise ConfigurationError(
                f"license type file {file}: {'; '.join(exc.problems)}"
            ) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
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


def _read_type_file(file: Traversable) -> LicenseType:
    raw = tomllib.loads(file.read_bytes().decode("utf-8"))
    parsed = read_type_file(raw)
    problems = _Problems()
    license_type = _build_type(parsed, file.name, problems)
    if license_type is None or problems:
        raise TypeFileError(problems)
    # The example record is checked as of its own valid_from, so it never ages out.
    example_day = normalise_date(dict(license_type.example)["valid_from"])
    try:
        validate_license_data(license_type, example_data(license_type), example_day)
    except InvalidLicenseDataError as exc:
        raise TypeFileError(
            [
                "the example does not pass the type's own rules: "
                + "; ".join(f"{k}: {v}" for k, v in exc.problems.items())
            ]
        ) from exc
    return license_type


# ---- the rules that span keys --------------------------------------------------


class _Problems(list[str]):
    """Every broken rule of one file, in the order they were found."""

    def check(self, check: Callable[[], _T], prefix: str = "") -> _T | None:
        """The result of ``check``, or None with its ``InvalidInputError`` recorded."""
        try:
            return check()
        except InvalidInputError as exc:
            self.append(f"{prefix}{exc.message}")
            return None

    def each(
        self, values: Sequence[str], parse: Callable[[str], _T], prefix: str
    ) -> tuple[_T, ...] | None:
        """Every value parsed, or None when any fails (each failure recorded)."""
        parsed: list[_T] = []
        failed = False
        for value in values:
            try:
                parsed.append(parse(value))
            except InvalidInputError as exc:
                self.append(f"{prefix}{exc.message}")
                failed = True
        return None if failed else tuple(parsed)

    def repeats(self, where: str, key: str, values: Sequence[str] | None) -> bool:
        """Whether a list names an item twice (recorded)."""
        values = values or ()
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            self.append(f"{where}: {key} repeats {', '.join(duplicates)}")
        return bool(duplicates)


def _build_type(parsed: TypeFile, file_name: str, problems: _Problems) -> LicenseType | None:
    if not _TYPE_KEY.fullmatch(parsed.key):
        problems.append(f"key {parsed.key!r} must be a lower-case slug such as 'business-license'")
    elif file_name != f"{parsed.key}.toml":
        problems.append(f"the file of type {parsed.key!r} must be named {parsed.key}.toml")
    code = problems.check(lambda: validate_license_type_code(parsed.code))
    number_format = _number_format(parsed.number_format, problems)
    holder_kinds = _holder_kinds(parsed.holder_kinds, problems)
    issuers = _issuers(parsed.issuers, problems)
    validity = _validity(parsed.validity, problems)
    fields = _fields(parsed.fields, problems)
    layout = _layout(parsed.layout, fields, problems)
    example = _example(parsed.example, problems)
    if (
        code is None
        or number_format is None
        or holder_kinds is None
        or issuers is None
        or validity is None
        or fields is None
        or layout is None
        or example is None
    ):
        return None
    return LicenseType(
        key=parsed.key,
        code=code,
        name_zh=parsed.name_zh,
        name_en=parsed.name_en,
        number_format=number_format,
        holder_kinds=holder_kinds,
        validity=validity,
        fields=fields,
        layout=layout,
        example=example,
        issuers=issuers,
        unique_per_holder=parsed.unique_per_holder,
    )


def _number_format(number_format: str, problems: _Problems) -> str | None:
    try:
        names = {
            name for _, name, _, _ in string.Formatter().parse(number_format) if name is not None
        }
        unknown = names - _NUMBER_FORMAT_NAMES
        if unknown:
            problems.append(
                f"number_format may use only {{region}}, {{year}} and {{sequence}}, "
                f"not {{{', '.join(sorted(unknown))}}}"
            )
            return None
        if "sequence" not in names:
            problems.append("number_format must use {sequence}, or every number is the same")
            return None
        number_format.format(region="330106", year=2026, sequence=1)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        problems.append(f"number_format {number_format!r} does not format: {exc}")
        return None
    return number_format


def _holder_kinds(codes: Sequence[str], problems: _Problems) -> tuple[HolderIdType, ...] | None:
    if problems.repeats("top level", "holder_kinds", codes):
        return None
    return problems.each(codes, parse_holder_id_type, "holder_kinds: ")


def _issuers(table: IssuersTable, problems: _Problems) -> IssuerRule | None:
    where = "[issuers]"
    kinds, regions, codes = table.kinds or [], table.regions or [], table.codes or []
    repeated = [
        problems.repeats(where, key, values)
        for key, values in (("kinds", kinds), ("regions", regions), ("codes", codes))
    ]
    if any(repeated):
        return None
    named = bool(kinds or regions or codes)
    if table.any_department is not None and (not table.any_department or named):
        problems.append(f"{where}: any_department = true stands alone (or leave it out)")
        return None
    if not (table.any_department or named):
        problems.append(f"{where}: name who may issue it (any_department, kinds, ...)")
        return None
    prefix = f"{where}: "
    parsed_kinds = problems.each(kinds, parse_kind, prefix)
    parsed_regions = problems.each(regions, validate_region_prefix, prefix)
    parsed_codes = problems.each(codes, validate_credit_code, prefix)
    if parsed_kinds is None or parsed_regions is None or parsed_codes is None:
        return None
    return IssuerRule(
        any_department=bool(table.any_department),
        kinds=frozenset(parsed_kinds),
        regions=parsed_regions,
        codes=frozenset(parsed_codes),
    )


def _validity(table: ValidityTable, problems: _Problems) -> Validity | None:
    try:
        rule = ValidityRule(table.rule)
    except ValueError:
        problems.append(f"[validity]: rule {table.rule!r} must be one of {', '.join(ValidityRule)}")
        return None
    years = table.years
    if rule is ValidityRule.FIXED_YEARS:
        if years is None or not 1 <= years <= 100:
            problems.append("[validity]: fixed_years needs years = 1 to 100")
            return None
    elif years is not None:
        problems.append(f"[validity]: years is only for rule = 'fixed_years', not {rule}")
        return None
    return Validity(rule=rule, years=years)


def _fields(tables: Sequence[FieldTable], problems: _Problems) -> tuple[FieldSpec, ...] | None:
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    failed = False
    for table in tables:
        if table.key in seen:
            problems.append(f"field {table.key!r} is declared twice")
            failed = True
            continue
        seen.add(table.key)
        spec = _field(table, problems)
        if spec is None:
            failed = True
        else:
            specs.append(spec)
    return None if failed else tuple(specs)


def _field(table: FieldTable, problems: _Problems) -> FieldSpec | None:
    where = f"field {table.key!r}"
    before = len(problems)
    if not _FIELD_KEY.fullmatch(table.key):
        problems.append(f"{where}: key must be lower-case letters, digits and _")
    if table.key in RESERVED_KEYS:
        problems.append(f"{where}: key is reserved for every license")
    try:
        kind = FieldKind(table.kind)
    except ValueError:
        problems.append(f"{where}: kind {table.kind!r} must be one of {', '.join(FieldKind)}")
        return None
    pattern = table.pattern
    if pattern is not None:
        if kind not in (FieldKind.TEXT, FieldKind.NUMBER):
            problems.append(f"{where}: pattern is only for text and number fields")
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"{where}: pattern {pattern!r} does not compile: {exc}")
    if (kind is FieldKind.ENUM) != (table.choices is not None):
        problems.append(f"{where}: choices are required for enum fields and only for them")
    else:
        problems.repeats(where, "choices", table.choices)
    if table.max_length is not None:
        if kind in (FieldKind.ENUM, FieldKind.DATE, FieldKind.CREDIT_CODE):
            problems.append(f"{where}: max_length is not for {kind} fields")
        elif table.max_length < 1:
            problems.append(f"{where}: max_length must be at least 1")
    if table.unit is not None and kind is not FieldKind.NUMBER:
        problems.append(f"{where}: unit is only for number fields")
    from_holder_id = None
    if table.from_holder_id is not None:
        if kind not in (FieldKind.TEXT, FieldKind.CREDIT_CODE):
            problems.append(f"{where}: from_holder_id is only for text and credit_code")
        else:
            code = table.from_holder_id
            from_holder_id = problems.check(
                lambda: parse_holder_id_type(code), f"{where}: from_holder_id: "
            )
    if len(problems) > before:
        return None
    spec = FieldSpec(
        key=table.key,
        label_zh=table.label_zh,
        label_en=table.label_en,
        kind=kind,
        required=True if table.required is None else table.required,
        example=table.example,
        pattern=pattern,
        choices=tuple(table.choices or ()),
        max_length=table.max_length,
        unit=table.unit,
        from_holder_id=from_holder_id,
    )
    # Checked here too: an example the example record leaves out is checked nowhere else.
    checked = problems.check(
        lambda: spec.normalise(table.example),
        f"{where}: the example does not pass the field's rules: ",
    )
    return None if checked is None else spec


def _layout(
    table: LayoutTable | None, fields: tuple[FieldSpec, ...] | None, problems: _Problems
) -> Layout | None:
    if fields is None:
        return None  # the layout names fields: it is checked once they are sound
    all_keys = tuple(spec.key for spec in fields)
    if table is None:
        return Layout(style=LayoutStyle.TABLE, fields=all_keys)
    try:
        style = LayoutStyle(table.style)
    except ValueError:
        problems.append(f"[layout]: style {table.style!r} must be one of {', '.join(LayoutStyle)}")
        return None
    if problems.repeats("[layout]", "fields", table.fields):
        return None
    keys = tuple(table.fields or all_keys)
    unknown = [key for key in keys if key not in all_keys]
    if unknown:
        problems.append(f"[layout]: fields names unknown fields {', '.join(unknown)}")
        return None
    kinds = {spec.key: spec.kind for spec in fields}
    before = len(problems)
    if style is LayoutStyle.DOCUMENT and not any(kinds[k] is FieldKind.MULTILINE for k in keys):
        problems.append("[layout]: a document layout needs at least one multiline field")
    headline = table.headline
    if headline is not None:
        if headline not in keys:
            problems.append(f"[layout]: headline {headline!r} is not a field shown")
        elif kinds[headline] is FieldKind.MULTILINE:
            problems.append(f"[layout]: headline {headline!r} must be a one-line field")
    if len(problems) > before:
        return None
    return Layout(style=style, fields=keys, headline=headline)


def _example(table: ExampleTable, problems: _Problems) -> tuple[tuple[str, str], ...] | None:
    values = table.model_dump()
    example = tuple(
        (key, values[key]) for key in (*HOLDER_KEYS, *VALIDITY_KEYS) if values[key] is not None
    )
    day = problems.check(lambda: normalise_date(table.valid_from), "[example]: valid_from ")
    return None if day is None else example

"""License data checked against its type: every key, all failures reported at once.

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

from collections.abc import Callable, Mapping
from datetime import date
from typing import TypeVar

from trustsvc.errors import InvalidInputError, InvalidLicenseDataError
from trustsvc.licenses.holders import HolderIdType, parse_holder_id_type, validate_holder_id
from trustsvc.licenses.types.model import (
    HOLDER_NAME_MAX_LENGTH,
    RESERVED_KEYS,
    FieldKind,
    LicenseData,
    LicenseType,
    ValidityRule,
)
from trustsvc.licenses.types.values import normalise_date, require_text, shown
from trustsvc.text import clean_name

_T = TypeVar("_T")

#: No license date lies before the founding of the People's Republic.
EARLIEST_DATE = date(1949, 10, 1)
#: Nor more than this many years after today.
LATEST_YEARS_AHEAD = 100


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
            problems, "holder_id", lambda: validate_holder_id(kind, require_text(raw_holder_id))
        )

    valid_from: date | None = today
    raw_from = _value_of(data, "valid_from")
    if raw_from is not None:
        valid_from = _checked(problems, "valid_from", lambda: normalise_date(raw_from))
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
                f"{shown(value)} is not the holder ID {holder_id}: for holder ID type "
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
    given = None if raw is None else _checked(problems, "valid_until", lambda: normalise_date(raw))
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
    kind = parse_holder_id_type(require_text(value))
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

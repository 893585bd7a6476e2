"""The shape of a license type file (``licenses/catalogue/<key>.toml``), as pydantic models.

These models say which keys a table may hold and what TOML type each value
is: unknown keys are refused (``extra="forbid"``) and nothing is coerced
(``strict``: ``true`` is no integer, a TOML date is no string). Strings are
stripped, and the ones a type cannot do without may not be empty. Rules that
span keys (a field's kind and its pattern, the layout and the fields, the
example and the type's own rules) are ``loader``'s. ``read_type_file`` says
pydantic's errors in the project's words, all at once: where (``top level``,
``[validity]``, ``field 'name'``), the key, and what is wrong with it.

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
"""

from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

#: A string that may not be blank; kept stripped.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
#: An optional string, kept stripped (it may be empty).
Stripped = Annotated[str, StringConstraints(strip_whitespace=True)]
#: A non-empty list of non-blank strings (repeats are the loader's to refuse).
Texts = Annotated[list[Text], Field(min_length=1)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class IssuersTable(_Table):
    """``[issuers]``: who may issue the type."""

    any_department: bool | None = None
    kinds: Texts | None = None
    regions: Texts | None = None
    codes: Texts | None = None


class ValidityTable(_Table):
    """``[validity]``: how long its licenses are valid."""

    rule: Text
    years: int | None = None


class FieldTable(_Table):
    """One ``[[fields]]`` table."""

    key: Text
    label_zh: Text
    label_en: Text
    kind: Text
    required: bool | None = None
    pattern: Stripped | None = None
    choices: Texts | None = None
    max_length: int | None = None
    unit: Stripped | None = None
    from_holder_id: Stripped | None = None
    example: str
    """Not stripped: the example is checked as a value would be sent."""


class LayoutTable(_Table):
    """``[layout]``: which fields the page shows, and how."""

    style: Text
    fields: Texts | None = None
    headline: Stripped | None = None


class ExampleTable(_Table):
    """``[example]``: the holder and validity of the example record."""

    holder_name: Text
    holder_id_type: Text
    holder_id: Text
    valid_from: Text
    valid_until: Stripped | None = None


class TypeFile(_Table):
    """A whole type file, its tables in the order the loader checks them."""

    key: Text
    code: Text
    name_zh: Text
    name_en: Text
    number_format: Text
    holder_kinds: Texts
    issuers: IssuersTable
    unique_per_holder: bool = False
    validity: ValidityTable
    fields: Annotated[list[FieldTable], Field(min_length=1)]
    layout: LayoutTable | None = None
    example: ExampleTable


#: The model of each table, by the name it has in the file (``fields`` for a ``[[fields]]``).
TABLES: dict[str, type[BaseModel]] = {
    "issuers": IssuersTable,
    "validity": ValidityTable,
    "fields": FieldTable,
    "layout": LayoutTable,
    "example": ExampleTable,
}

_TOML_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean",
    "list_type": "a list",
    "model_type": "a table",
}


class TypeFileError(Exception):
    """A type file breaks the schema; the loader adds the file name to every problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def read_type_file(raw: Mapping[str, object]) -> TypeFile:
    """The parsed TOML as a ``TypeFile``, or ``TypeFileError`` naming every failing key."""
    try:
        return TypeFile.model_validate(raw)
    except ValidationError as exc:
        raise TypeFileError(_schema_problems(exc, raw)) from None


# ---- pydantic's errors in the project's words ----------------------------------


def _schema_problems(error: ValidationError, raw: Mapping[str, object]) -> list[str]:
    """One message per failing key, each prefixed with where the key is in the file."""
    problems: list[str] = []
    unknown: dict[str, tuple[type[BaseModel], list[str]]] = {}
    for detail in error.errors(include_url=False, include_context=False):
        where, model, key, in_list = _place(detail["loc"], raw)
        if detail["type"] == "extra_forbidden":
            if where not in unknown:
                unknown[where] = (model, [])
                problems.append(where)  # filled in below, in the place of the first
            unknown[where][1].append(key)
            continue
        message = f"{where}: {_problem(detail, where, key, in_list)}"
        if message not in problems:
            problems.append(message)
    for where, (model, keys) in unknown.items():
        allowed = ", ".join(model.model_fields)
        problems[problems.index(where)] = (
            f"{where}: unknown key {', '.join(keys)}; allowed: {allowed}"
        )
    return problems


def _place(
    loc: tuple[int | str, ...], raw: Mapping[str, object]
) -> tuple[str, type[BaseModel], str, bool]:
    """Where a failing value is: its table, that table's model, its key, and if in a list."""
    if len(loc) >= 2 and isinstance(loc[0], str) and loc[0] in TABLES:
        table = loc[0]
        model = TABLES[table]
        if table == "fields" and isinstance(loc[1], int):
            rest = loc[2:]
            where = _field_place(raw, loc[1])
        else:
            rest = loc[1:]
            where = f"[{table}]"
        if rest:
            return where, model, str(rest[0]), len(rest) > 1
        # The table itself is wrong (a [[fields]] entry that is no table).
        return "top level", TypeFile, table, True
    return "top level", TypeFile, str(loc[0]) if loc else "", len(loc) > 1


def _field_place(raw: Mapping[str, object], index: int) -> str:
    """``field 'name'`` once a field's key can be read, else its position."""
    fields = raw.get("fields")
    entry = fields[index] if isinstance(fields, list) and index < len(fields) else None
    key = entry.get("key") if isinstance(entry, dict) else None
    if isinstance(key, str) and key.strip():
        return f"field {key.strip()!r}"
    return f"[[fields]] #{index + 1}"


def _problem(detail: ErrorDetails, where: str, key: str, in_list: bool) -> str:
    kind = detail["type"]
    if (where, key) == ("top level", "fields") and (in_list or kind in ("list_type", "too_short")):
        return "fields must be one or more [[fields]] tables"
    if in_list or kind == "too_short":
        return f"{key} must be a non-empty list of strings"
    if kind == "missing":
        return f"{key} is required"
    if kind == "string_too_short":
        return f"{key} must not be empty"
    if kind in _TOML_TYPE_NAMES:
        return f"{key} must be {_TOML_TYPE_NAMES[kind]}, not {type(detail['input']).__name__}"
    return f"{key}: {detail['msg']}"

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from trustsvc.codes.identifiers import validate_license_type_code
from trustsvc.errors import (
    ConfigurationError,
    InvalidInputError,
    InvalidLicenseDataError,
    NotFoundError,
)
from trustsvc.licenses import types as license_types
from trustsvc.licenses.holders import HolderIdType
from trustsvc.licenses.types import (
    FieldKind,
    LayoutStyle,
    LicenseType,
    ValidityRule,
    example_data,
    get_type,
    load_types,
    validate_license_data,
)

TODAY = date(2026, 5, 20)
SHIPPED_DIRECTORY = Path(license_types.__file__).parents[1] / "catalogue"
TYPES = load_types()
EXPECTED_KEYS = {
    "business-license",
    "construction-permit",
    "real-estate-certificate",
    "food-business-permit",
    "administrative-permission-decision",
}


def business_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = dict(example_data(TYPES["business-license"]))
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def problems_of(license_type: LicenseType, data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidLicenseDataError) as caught:
        validate_license_data(license_type, data, TODAY)
    error = caught.value
    for key, problem in error.problems.items():
        assert f"{key}: {problem}" in error.message
    return error.problems


# ---- the shipped types -----------------------------------------------------------


def test_the_five_types_ship_with_the_package() -> None:
    assert set(TYPES) >= EXPECTED_KEYS
    for key, license_type in TYPES.items():
        assert license_type.key == key
        assert validate_license_type_code(license_type.code) == license_type.code
    assert len({t.code for t in TYPES.values()}) == len(TYPES)


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_every_example_validates_and_round_trips(key: str) -> None:
    license_type = TYPES[key]
    data = validate_license_data(license_type, example_data(license_type), TODAY)
    assert data.holder_id_type in license_type.holder_kinds
    # Every field, but one that is the holder ID: that is not kept twice.
    kept = [spec.key for spec in license_type.fields if not spec.is_holder_id(data.holder_id_type)]
    assert [k for k, _ in data.fields] == kept
    again = validate_license_data(license_type, data.as_dict(), date(2030, 1, 1))
    assert again == data
    assert hash(again) == hash(data)


def test_shipped_types_declare_what_the_brief_asks() -> None:
    business = TYPES["business-license"]
    assert business.validity.rule is ValidityRule.OPEN_ENDED
    assert business.holder_kinds == (HolderIdType.CREDIT_CODE,)
    assert business.field("business_scope").kind is FieldKind.MULTILINE
    assert TYPES["construction-permit"].validity.rule is ValidityRule.PER_LICENSE
    assert TYPES["construction-permit"].field("contract_price").unit == "万元"
    assert set(TYPES["real-estate-certificate"].holder_kinds) == set(HolderIdType)
    food = TYPES["food-business-permit"]
    assert (food.validity.rule, food.validity.years) == (ValidityRule.FIXED_YEARS, 5)
    decision = TYPES["administrative-permission-decision"]
    assert decision.layout.style is LayoutStyle.DOCUMENT
    assert business.layout.style is LayoutStyle.TABLE
    assert business.layout.fields == tuple(spec.key for spec in business.fields)


def test_license_numbers_follow_the_type_format() -> None:
    number = TYPES["business-license"].format_number(region="330106", year=2026, sequence=42)
    assert number == "3301062026000042"
    with pytest.raises(InvalidInputError, match="6 digits"):
        TYPES["business-license"].format_number(region="3301", year=2026, sequence=1)


def test_get_type_by_key_or_code() -> None:
    business = TYPES["business-license"]
    assert get_type(TYPES, "business-license") is business
    assert get_type(TYPES, business.code.lower()) is business
    with pytest.raises(NotFoundError, match="known types: administrative-permission-decision"):
        get_type(TYPES, "fishing-licence")


def test_domain_types_do_not_import_the_web_or_database_layers() -> None:
    code = (
        "import sys\n"
        "import trustsvc.licenses.types, trustsvc.licenses.holders\n"
        "print(sorted(m for m in ('fastapi', 'starlette', 'sqlalchemy') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ---- validating data ----------------------------------------------------------------


def test_values_are_normalised() -> None:
    data = validate_license_data(
        TYPES["business-license"],
        business_data(holder_id=" 91330106ma27u1t086 ", name="  杭州示例科技有限公司 "),
        TODAY,
    )
    assert data.holder_id == "91330106MA27U1T086"
    assert data.value("name") == "杭州示例科技有限公司"
    assert data.valid_from == date(2026, 1, 5)


def test_valid_from_defaults_to_today() -> None:
    data = validate_license_data(TYPES["business-license"], business_data(valid_from=""), TODAY)
    assert data.valid_from == TODAY
    assert data.valid_until is None


def test_missing_required_field() -> None:
    problems = problems_of(TYPES["business-license"], business_data(registered_capital=" "))
    assert problems == {"registered_capital": "required"}


def test_optional_field_may_be_left_out() -> None:
    data = validate_license_data(
        TYPES["business-license"], business_data(business_term=None), TODAY
    )
    assert data.value("business_term") is None
    assert "business_term" not in data.as_dict()


def test_bad_enum_value() -> None:
    problems = problems_of(TYPES["business-license"], business_data(entity_type="国有公司"))
    assert list(problems) == ["entity_type"]
    assert "is not one of: 有限责任公司" in problems["entity_type"]


def test_bad_pattern() -> None:
    license_type = TYPES["real-estate-certificate"]
    data: dict[str, object] = dict(example_data(license_type))
    data["unit_number"] = "330106003004GB00012F0001000"  # 27 characters
    problems = problems_of(license_type, data)
    assert list(problems) == ["unit_number"]
    assert "does not match the pattern" in problems["unit_number"]


@pytest.mark.parametrize("bad_date", ["2021-02-30", "2021/06/18", "18 June 2021", 20210618])
def test_bad_date(bad_date: object) -> None:
    problems = problems_of(TYPES["business-license"], business_data(established_on=bad_date))
    assert list(problems) == ["established_on"]


def test_unknown_key() -> None:
    problems = problems_of(TYPES["business-license"], business_data(capital="100万"))
    assert problems == {"capital": "unknown key: business-license has no such field"}


def test_holder_kind_not_allowed_for_the_type() -> None:
    problems = problems_of(
        TYPES["business-license"],
        business_data(holder_id_type="111", holder_id="11010519491231002X"),
    )
    assert list(problems) == ["holder_id_type"]
    assert (
        "111 (公民身份号码) is not allowed for 营业执照; allowed: 001" in problems["holder_id_type"]
    )


def test_unknown_holder_kind() -> None:
    problems = problems_of(TYPES["business-license"], business_data(holder_id_type="1"))
    assert "unknown holder ID type code '1'" in problems["holder_id_type"]


def test_holder_id_is_checked_against_its_kind() -> None:
    problems = problems_of(TYPES["business-license"], business_data(holder_id="91330106MA27U1T087"))
    assert list(problems) == ["holder_id"]
    assert "check character" in problems["holder_id"]


def test_several_errors_are_reported_at_once() -> None:
    data = business_data(
        holder_id="91330106MA27U1T087",
        registered_capital=None,
        entity_type="国有公司",
        established_on="2021-13-01",
        valid_until="2030-01-01",
        colour="red",
    )
    problems = problems_of(TYPES["business-license"], data)
    assert list(problems) == [
        "holder_id",
        "valid_until",
        "entity_type",
        "registered_capital",
        "established_on",
        "colour",
    ]


def test_every_holder_key_missing_is_reported() -> None:
    license_type = TYPES["business-license"]
    problems = problems_of(license_type, {})
    assert problems["holder_name"] == "required"
    assert problems["holder_id_type"] == "required"
    assert problems["holder_id"] == "required"
    assert {spec.key for spec in license_type.fields if spec.required} <= set(problems)


def test_numbers_may_arrive_as_json_numbers() -> None:
    license_type = TYPES["construction-permit"]
    data: dict[str, object] = dict(example_data(license_type))
    data["contract_price"] = 18650.5
    data["contract_duration"] = 720
    result = validate_license_data(license_type, data, TODAY)
    assert result.value("contract_price") == "18650.5"
    assert result.value("contract_duration") == "720"


@pytest.mark.parametrize(("value", "problem"), [(True, "boolean"), ("12,000", "not a number")])
def test_bad_numbers(value: object, problem: str) -> None:
    license_type = TYPES["construction-permit"]
    data: dict[str, object] = dict(example_data(license_type))
    data["contract_price"] = value
    assert problem in problems_of(license_type, data)["contract_price"]


def test_text_fields_want_text_on_one_line() -> None:
    problems = problems_of(
        TYPES["business-license"], business_data(name=12345, domicile="第一行\n第二行")
    )
    assert problems == {"name": "must be text, not int", "domicile": "must be one line"}


def test_multiline_fields_keep_their_paragraphs() -> None:
    license_type = TYPES["administrative-permission-decision"]
    data: dict[str, object] = dict(example_data(license_type))
    data["decision"] = "第一段。\r\n\r\n第二段。"
    result = validate_license_data(license_type, data, TODAY)
    assert result.value("decision") == "第一段。\n\n第二段。"


def test_max_length() -> None:
    problems = problems_of(TYPES["business-license"], business_data(name="名" * 101))
    assert problems == {"name": "has 101 characters; at most 100 allowed"}


# ---- validity -----------------------------------------------------------------------


def food_data(**changes: str | None) -> dict[str, object]:
    data: dict[str, object] = dict(example_data(TYPES["food-business-permit"]))
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_fixed_years_computes_valid_until() -> None:
    food = TYPES["food-business-permit"]
    data = validate_license_data(food, food_data(valid_from="2026-04-01"), TODAY)
    assert data.valid_until == date(2031, 3, 31)
    assert validate_license_data(food, food_data(valid_from=None), TODAY).valid_until == date(
        2031, 5, 19
    )


def test_fixed_years_from_29_february() -> None:
    data = validate_license_data(
        TYPES["food-business-permit"], food_data(valid_from="2024-02-29"), TODAY
    )
    assert data.valid_until == date(2029, 2, 28)


def test_fixed_years_accepts_only_the_computed_valid_until() -> None:
    food = TYPES["food-business-permit"]
    data = validate_license_data(food, food_data(valid_until="2031-03-31"), TODAY)
    assert data.valid_until == date(2031, 3, 31)
    problems = problems_of(food, food_data(valid_until="2031-04-01"))
    assert problems == {
        "valid_until": "must be 2031-03-31 (valid_from + 5 years - 1 day) or absent"
    }


def test_per_license_requires_valid_until() -> None:
    permit = TYPES["construction-permit"]
    data: dict[str, object] = dict(example_data(permit))
    del data["valid_until"]
    assert "required" in problems_of(permit, data)["valid_until"]


def test_per_license_valid_until_not_before_valid_from() -> None:
    permit = TYPES["construction-permit"]
    data: dict[str, object] = dict(example_data(permit))
    data.update(valid_from="2026-03-01", valid_until="2026-02-28")
    assert problems_of(permit, data) == {
        "valid_until": "2026-02-28 is before valid_from 2026-03-01"
    }
    data["valid_until"] = "2026-03-01"
    assert validate_license_data(permit, data, TODAY).valid_until == date(2026, 3, 1)


def test_open_ended_refuses_valid_until() -> None:
    problems = problems_of(TYPES["business-license"], business_data(valid_until="2030-01-01"))
    assert list(problems) == ["valid_until"]
    assert "must be absent" in problems["valid_until"]


# ---- malformed type files -------------------------------------------------------------

BUSINESS_TOML = (SHIPPED_DIRECTORY / "business-license.toml").read_text(encoding="utf-8")
# The shipped file with its own [layout] table taken out, for tests that add another.
BUSINESS_TOML_NO_LAYOUT = re.sub(r"\n\[layout\]\n(?:[a-z].*\n)*", "\n", BUSINESS_TOML)


def write_type(directory: Path, text: str, name: str = "business-license.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(directory: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_types(directory)
    return caught.value.message


def test_a_copy_of_a_shipped_file_loads(tmp_path: Path) -> None:
    write_type(tmp_path, BUSINESS_TOML)
    assert load_types(tmp_path) == {"business-license": TYPES["business-license"]}


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('name_en = "Business License"', 'name_en = "B"\ncolour = "red"', "unknown key colour"),
        (
            'kind = "date"',
            'kind = "date"\nformat = "%Y"',
            "field 'established_on': unknown key format",
        ),
        ('key = "entity_type"', 'key = "name"', "field 'name' is declared twice"),
        ('key = "entity_type"', 'key = "holder_id"', "reserved"),
        ('kind = "date"', 'kind = "datetime"', "kind 'datetime' must be one of"),
        ('max_length = 50\nexample = "陈明"', 'pattern = "[a-z"\nexample = "陈明"', "does not"),
        ('example = "2021-06-18"', 'example = "2021-06-31"', "example does not pass"),
        ('example = "2021-06-18"', "example = 2021-06-18", "example must be a string"),
        ('code = "11100000MB0000019L001"', 'code = "11100000MB0000019M001"', "GB 32100"),
        ('rule = "open_ended"', 'rule = "fixed_years"', "needs years"),
        ('rule = "open_ended"', 'rule = "open_ended"\nyears = 3', "years is only for"),
        ("{sequence:06d}", "{serial}", "only {region}, {year} and {sequence}"),
        ("{sequence:06d}", "{sequence:q}", "does not format"),
        ('holder_kinds = ["001"]', 'holder_kinds = ["001", "999"]', "unknown holder ID type"),
        ('holder_id = "91330106MA27U1T086"', 'holder_id = "91330106MA27U1T087"', "holder_id"),
        ('holder_kinds = ["001"]', 'holder_kinds = ["111"]', "holder_id_type"),
        ('key = "business-license"', 'key = "business"', "must be named business.toml"),
        ('key = "business-license"', "key = [", "Invalid"),
    ],
)
def test_malformed_type_files_name_the_file_and_problem(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in BUSINESS_TOML
    path = write_type(tmp_path, BUSINESS_TOML.replace(old, new, 1))
    message = load_error(tmp_path)
    assert message.startswith(f"license type file {path}: ")
    assert problem in message


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("unique_per_holder = true", "unique_per_holder = 1", "must be a boolean, not int"),
        (
            'rule = "open_ended"',
            'rule = "fixed_years"\nyears = true',
            "must be an integer, not bool",
        ),
        (
            'rule = "open_ended"',
            'rule = "fixed_years"\nyears = 5.0',
            "must be an integer, not float",
        ),
        ('name_zh = "营业执照"', 'name_zh = "  "', "top level: name_zh must not be empty"),
        ('holder_kinds = ["001"]', 'holder_kinds = ["001", 1]', "holder_kinds must be a non-empty"),
        ('holder_kinds = ["001"]', "holder_kinds = []", "holder_kinds must be a non-empty"),
        ('holder_kinds = ["001"]', 'holder_kinds = ["001", "001"]', "holder_kinds repeats 001"),
        ('key = "credit_code"\n', "", "[[fields]] #1: key is required"),
        ('style = "table"', 'style = ["table"]', "[layout]: style must be a string, not list"),
    ],
)
def test_the_schema_is_strict_about_value_types(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in BUSINESS_TOML
    path = write_type(tmp_path, BUSINESS_TOML.replace(old, new, 1))
    message = load_error(tmp_path)
    assert message.startswith(f"license type file {path}: ")
    assert problem in message


def test_a_table_must_be_a_table(tmp_path: Path) -> None:
    name_en = 'name_en = "Business License"'
    write_type(tmp_path, BUSINESS_TOML_NO_LAYOUT.replace(name_en, f"{name_en}\nlayout = 3"))
    assert "top level: layout must be a table, not int" in load_error(tmp_path)


def test_every_failing_key_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    shape = (
        BUSINESS_TOML.replace('name_en = "Business License"', 'name_en = 3\ncolour = "red"')
        .replace('kind = "date"', 'kind = "date"\nformat = "%Y"')
        .replace("[example]\n", "[example]\nshape = 1\n")
    )
    write_type(tmp_path, shape)
    message = load_error(tmp_path)
    for problem in [
        "top level: name_en must be a string, not int",
        "top level: unknown key colour;",
        "field 'established_on': unknown key format;",
        "[example]: unknown key shape;",
    ]:
        assert problem in message
    # Once the shape is sound, the rules across keys are all checked too.
    rules = (
        BUSINESS_TOML.replace('rule = "open_ended"', 'rule = "for-ever"')
        .replace('kind = "date"', 'kind = "datetime"')
        .replace('holder_kinds = ["001"]', 'holder_kinds = ["999"]')
        .replace('kinds = ["market-regulation"]', 'kinds = ["wizards", "elves"]')
    )
    write_type(tmp_path, rules)
    message = load_error(tmp_path)
    for problem in [
        "holder_kinds: unknown holder ID type code '999'",
        "[issuers]: unknown department kind 'wizards'",
        "[issuers]: unknown department kind 'elves'",
        "[validity]: rule 'for-ever' must be one of",
        "field 'established_on': kind 'datetime' must be one of",
    ]:
        assert problem in message


def test_the_shipped_catalogue_is_read_once_and_every_caller_gets_its_own_dict() -> None:
    mine = load_types()
    del mine["business-license"]
    again = load_types()
    assert again == TYPES and again is not TYPES
    assert again["business-license"] is TYPES["business-license"]


def test_a_directory_is_read_afresh_each_time(tmp_path: Path) -> None:
    write_type(tmp_path, BUSINESS_TOML)
    assert load_types(tmp_path)["business-license"].name_en == "Business License"
    write_type(tmp_path, BUSINESS_TOML.replace('"Business License"', '"Licence"'))
    assert load_types(tmp_path)["business-license"].name_en == "Licence"


def test_enum_needs_choices(tmp_path: Path) -> None:
    text = BUSINESS_TOML.replace('kind = "date"', 'kind = "enum"')
    write_type(tmp_path, text)
    assert "choices are required for enum fields" in load_error(tmp_path)


def test_document_layout_needs_a_multiline_field(tmp_path: Path) -> None:
    text = (
        BUSINESS_TOML_NO_LAYOUT + '\n[layout]\nstyle = "document"\nfields = ["name", "domicile"]\n'
    )
    write_type(tmp_path, text)
    assert "needs at least one multiline field" in load_error(tmp_path)


def test_layout_names_only_declared_fields(tmp_path: Path) -> None:
    write_type(
        tmp_path, BUSINESS_TOML_NO_LAYOUT + '\n[layout]\nstyle = "table"\nfields = ["nom"]\n'
    )
    assert "unknown fields nom" in load_error(tmp_path)


def test_two_files_may_not_share_a_type_code(tmp_path: Path) -> None:
    write_type(tmp_path, BUSINESS_TOML)
    copy = BUSINESS_TOML.replace('key = "business-license"', 'key = "business-copy"')
    write_type(tmp_path, copy, "business-copy.toml")
    assert "is already used by" in load_error(tmp_path)


def test_an_empty_or_missing_directory_is_refused(tmp_path: Path) -> None:
    assert "has no *.toml files" in load_error(tmp_path)
    assert "does not exist" in load_error(tmp_path / "missing")


# ---- the credit code of the business license (营业执照 统一社会信用代码) ------------------

OTHER_CREDIT_CODE = "91330106MA2H00014Q"  # valid, but not the example holder's


def test_the_business_license_carries_the_holders_credit_code() -> None:
    business = TYPES["business-license"]
    spec = business.field("credit_code")
    assert (spec.label_zh, spec.kind) == ("统一社会信用代码", FieldKind.CREDIT_CODE)
    assert business.layout.headline == "credit_code"
    assert "credit_code" not in [f.key for f in business.layout_fields]  # printed once
    # It is the holder ID: left out or given (the same code), the data are the
    # same, and the holder ID is not kept a second time, in clear, among the fields.
    data = validate_license_data(business, business_data(), TODAY)
    assert data.value("credit_code") is None and data.holder_id == "91330106MA27U1T086"
    given = validate_license_data(business, business_data(credit_code="91330106ma27u1t086"), TODAY)
    assert given == data


def test_a_credit_code_with_a_bad_check_character_is_refused_by_name() -> None:
    problems = problems_of(
        TYPES["business-license"], business_data(credit_code="91330106MA27U1T087")
    )
    assert list(problems) == ["credit_code"]
    assert "check character '7', GB 32100 gives '6'" in problems["credit_code"]
    problems = problems_of(TYPES["business-license"], business_data(credit_code="9133010"))
    assert list(problems) == ["credit_code"] and "18 characters" in problems["credit_code"]


def test_a_credit_code_other_than_the_holders_is_refused() -> None:
    problems = problems_of(TYPES["business-license"], business_data(credit_code=OTHER_CREDIT_CODE))
    assert list(problems) == ["credit_code"]
    assert "is not the holder ID 91330106MA27U1T086" in problems["credit_code"]


def test_the_food_permit_credit_code_follows_its_holder() -> None:
    food = TYPES["food-business-permit"]
    base: dict[str, object] = dict(example_data(food))
    assert "credit_code" not in base  # the example holder's ID is its credit code
    same = validate_license_data(food, {**base, "credit_code": base["holder_id"]}, TODAY)
    assert same == validate_license_data(food, base, TODAY)
    # An operator holding it under a citizen ID: the code is its own, still checked.
    citizen = {**base, "holder_id_type": "111", "holder_id": "330106198503120044"}
    assert validate_license_data(food, citizen, TODAY).value("credit_code") is None
    with_code = validate_license_data(food, {**citizen, "credit_code": OTHER_CREDIT_CODE}, TODAY)
    assert with_code.value("credit_code") == OTHER_CREDIT_CODE
    bad = problems_of(food, {**citizen, "credit_code": "91330106MA2H00014R"})
    assert list(bad) == ["credit_code"] and "check character" in bad["credit_code"]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('kind = "credit_code"', 'kind = "credit_code"\npattern = "9.*"', "pattern is only for"),
        ('kind = "credit_code"', 'kind = "credit_code"\nmax_length = 18', "max_length is not"),
        ('from_holder_id = "001"', 'from_holder_id = "999"', "unknown holder ID type"),
        ('kind = "credit_code"', 'kind = "date"', "from_holder_id is only for text"),
    ],
)
def test_credit_code_fields_are_declared_strictly(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in BUSINESS_TOML
    write_type(tmp_path, BUSINESS_TOML.replace(old, new, 1))
    assert problem in load_error(tmp_path)


def test_a_headline_must_be_a_shown_one_line_field(tmp_path: Path) -> None:
    write_type(tmp_path, BUSINESS_TOML.replace('headline = "credit_code"', 'headline = "nom"'))
    assert "headline 'nom' is not a field shown" in load_error(tmp_path)
    text = BUSINESS_TOML.replace('headline = "credit_code"', 'headline = "business_scope"')
    write_type(tmp_path, text)
    assert "must be a one-line field" in load_error(tmp_path)


# ---- dates in a sane range ------------------------------------------------------------


def test_dates_before_the_founding_of_the_prc_are_refused_by_name() -> None:
    business = TYPES["business-license"]
    assert validate_license_data(business, business_data(established_on="1949-10-01"), TODAY)
    problems = problems_of(business, business_data(established_on="1949-09-30"))
    assert problems == {
        "established_on": "1949-09-30 is before 1949-10-01; no license carries such a date"
    }
    problems = problems_of(business, business_data(valid_from="0001-01-01"))
    assert list(problems) == ["valid_from"] and "before 1949-10-01" in problems["valid_from"]


def test_dates_more_than_a_hundred_years_ahead_are_refused_by_name() -> None:
    permit = TYPES["construction-permit"]
    data: dict[str, object] = dict(example_data(permit))
    # TODAY is 2026-05-20: the last date allowed is 2126-05-20.
    ok = validate_license_data(permit, {**data, "valid_until": "2126-05-20"}, TODAY)
    assert ok.valid_until == date(2126, 5, 20)
    problems = problems_of(permit, {**data, "valid_until": "2126-05-21"})
    assert list(problems) == ["valid_until"]
    assert "more than 100 years after today (2026-05-20)" in problems["valid_until"]
    problems = problems_of(TYPES["business-license"], business_data(established_on="9999-12-31"))
    assert list(problems) == ["established_on"]
    # A computed end (fixed_years) is held to the same rule, and named.
    food = TYPES["food-business-permit"]
    late = {**example_data(food), "valid_from": "2124-01-01"}
    assert list(problems_of(food, late)) == ["valid_until"]


def test_the_range_follows_today_including_29_february() -> None:
    permit = TYPES["construction-permit"]
    data = {**example_data(permit), "valid_until": "2128-02-28"}
    assert validate_license_data(permit, data, date(2028, 2, 29)).valid_until == date(2128, 2, 28)
    problems = problems_of(permit, {**data, "valid_until": "2128-02-29"})
    assert "valid_until" in problems

"""Name rules (trustsvc.text) and where they apply: departments, holders, API clients."""

from __future__ import annotations

import time
import unicodedata
from datetime import date

import pytest

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, credit_code
from trustsvc.departments.registry import add_department, list_departments
from trustsvc.errors import DuplicateDepartmentError, InvalidInputError, UnsupportedCharacterError
from trustsvc.licenses.types import example_data, get_type, load_types, validate_license_data
from trustsvc.services import Services
from trustsvc.text import clean_name

#: Each a name that looks like 杭州市市场监督管理局 but is not.
HOSTILE_NAMES = {
    "right-to-left override": "杭州市\u202e局理管督监场市",
    "left-to-right isolate": "杭州市\u2066市场监督管理局",
    "pop directional isolate": "杭州市市场监督管理局\u2069",
    "right-to-left mark": "杭州市\u200f市场监督管理局",
    "arabic letter mark": "杭州市\u061c市场监督管理局",
    "zero-width space": "杭州市\u200b市场监督管理局",
    "zero-width joiner": "杭州市\u200d市场监督管理局",
    "word joiner": "杭州市\u2060市场监督管理局",
    "byte order mark": "\ufeff杭州市市场监督管理局",
    "control character": "杭州市\x07市场监督管理局",
    "line break": "杭州市\n市场监督管理局",
    "line separator": "杭州市\u2028市场监督管理局",
    "lone surrogate": "杭州市\ud800市场监督管理局",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_names_with_invisible_or_reordering_characters_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError):
        clean_name(name, "department name")


def test_names_are_nfc_trimmed_and_bounded() -> None:
    decomposed = "Jose\u0301 Garci\u0301a"
    assert clean_name(f"  {decomposed}  ", "name") == unicodedata.normalize("NFC", decomposed)
    assert clean_name("a  b\u3000c", "name", collapse=True) == "a b c"
    with pytest.raises(InvalidInputError, match="empty"):
        clean_name(" \u3000 ", "name")
    with pytest.raises(InvalidInputError, match="at most 10"):
        clean_name("局" * 11, "name", 10)
    assert clean_name("局" * 10, "name", 10) == "局" * 10


@pytest.mark.parametrize(
    "name",
    [HOSTILE_NAMES["right-to-left override"], HOSTILE_NAMES["zero-width space"], "\x1b[31m局"],
    ids=["bidi", "zero-width", "escape"],
)
def test_a_department_with_a_hostile_name_is_not_added(services: Services, name: str) -> None:
    with pytest.raises(InvalidInputError):
        add_department(services, name, DEPARTMENT_A)
    assert list_departments(services) == []


def test_department_names_are_unique(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, with_seal=False)
    with pytest.raises(DuplicateDepartmentError, match=f"named .* {DEPARTMENT_A}"):
        add_department(services, " 杭州市市场监督管理局", DEPARTMENT_B, with_seal=False)
    decomposed = unicodedata.normalize("NFD", "Café municipal")
    add_department(services, "Café municipal", DEPARTMENT_B, with_seal=False)
    assert [d.code for d in list_departments(services)] == [DEPARTMENT_A, DEPARTMENT_B]
    with pytest.raises(DuplicateDepartmentError):
        add_department(services, decomposed, credit_code("11330100MB0000003"), with_seal=False)


def test_a_name_the_font_cannot_draw_is_refused_when_the_department_is_added(
    services: Services,
) -> None:
    # U+1F9EA (test tube) is assigned and printable, but no CJK font here draws it.
    with pytest.raises(UnsupportedCharacterError, match="cannot be typeset"):
        add_department(services, "杭州市市场监督管理局\U0001f9ea", DEPARTMENT_A)
    assert list_departments(services) == []


def test_the_font_check_keeps_adding_a_department_fast(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, with_seal=False)
    started = time.perf_counter()
    add_department(services, "宁波市住房和城乡建设局", DEPARTMENT_B, with_seal=False)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "name",
    [HOSTILE_NAMES["right-to-left override"], HOSTILE_NAMES["byte order mark"], "\ud800"],
    ids=["bidi", "bom", "surrogate"],
)
def test_holder_names_follow_the_same_rules(name: str) -> None:
    license_type = get_type(load_types(), "business-license")
    data = {**example_data(license_type), "holder_name": name}
    with pytest.raises(InvalidInputError, match="holder_name"):
        validate_license_data(license_type, data, date(2026, 1, 1))


def test_holder_names_are_stored_in_nfc() -> None:
    license_type = get_type(load_types(), "business-license")
    data = {**example_data(license_type), "holder_name": " Cafe\u0301 Ltd "}
    assert validate_license_data(license_type, data, date(2026, 1, 1)).holder_name == "Café Ltd"

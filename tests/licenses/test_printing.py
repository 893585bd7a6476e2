"""What each shipped type's page prints, read back line by line as a reader's text tool would.

Every shipped type's example is made into its page (``printing.license_document``
then ``render_license``) and read back with the content-stream reader of
test_render: no label or date is split across lines, the page has one date
format, amounts carry their units, the license number is printed once, and
the business license shows its credit code at the top.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.documents.test_render import Page, read_page
from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.documents.render import render_license
from trustsvc.licenses.printing import field_values, license_document
from trustsvc.licenses.types import (
    FieldKind,
    LicenseType,
    example_data,
    load_types,
    validate_license_data,
)

TYPES = load_types()
ISSUED = date(2026, 5, 19)
IDENTIFIER = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S"
VERIFY_URL = "https://licenses.example.gov.cn/v/eyJpZCI6IjEuMi4xNTYuMzAwNS4yIn0.c2lnbmF0dXJl"
ANY_DATE = re.compile(r"[0-9]{4}\s*年\s*[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日")
ONE_FORMAT = re.compile(r"[0-9]{4}年[0-9]{2}月[0-9]{2}日")
# 2021-06-18, 2021/6/18 (the dots of the GB/T 36904 identifier are no date).
OTHER_DATE_FORMS = re.compile(r"(?<![0-9.])[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}(?![0-9])")
# A date with the word that ends or starts a period: 2078年05月19日止.
DATE_PIECE = re.compile(r"[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日[起止至]?")


def number_of(license_type: LicenseType) -> str:
    return license_type.format_number(region="330106", year=2026, sequence=123)


def page_of(license_type: LicenseType, font_name: str) -> tuple[Page, dict[str, str]]:
    """The example's page, and its field values as printed (before units and date forms)."""
    data = validate_license_data(license_type, example_data(license_type), ISSUED)
    document = license_document(
        license_type,
        data,
        license_number=number_of(license_type),
        identifier=IDENTIFIER,
        issuer_name="杭州市西湖区市场监督管理局",
        issue_date=ISSUED,
        verify_url=VERIFY_URL,
    )
    return read_page(render_license(document, font_name).pdf), field_values(license_type, data)


@pytest.fixture(scope="module")
def pages() -> dict[str, tuple[Page, dict[str, str]]]:
    font_name = load_cjk_font(find_cjk_font())
    return {key: page_of(license_type, font_name) for key, license_type in TYPES.items()}


def lines_of(page: Page) -> list[str]:
    return [text for _, text, _ in page.lines()]


@pytest.mark.parametrize("key", sorted(TYPES))
def test_no_label_is_split_across_lines(
    pages: dict[str, tuple[Page, dict[str, str]]], key: str
) -> None:
    page, data = pages[key]
    lines = lines_of(page)
    license_type = TYPES[key]
    shown = [spec for spec in license_type.fields if data.get(spec.key)]
    labels = [spec.label_zh for spec in shown if spec.kind is not FieldKind.MULTILINE]
    if license_type.layout.style.value == "table":
        labels += [spec.label_zh for spec in shown if spec.kind is FieldKind.MULTILINE]
    for label in [*labels, "有效期"]:
        assert any(label in line for line in lines), (key, label, lines)


@pytest.mark.parametrize("key", sorted(TYPES))
def test_no_date_or_amount_is_split_across_lines(
    pages: dict[str, tuple[Page, dict[str, str]]], key: str
) -> None:
    page, data = pages[key]
    lines = lines_of(page)
    # Read on across line ends: a piece found only there was split by a line break.
    for piece in DATE_PIECE.findall("".join(lines)):
        assert any(piece in line for line in lines), (key, piece)
    for spec in TYPES[key].fields:
        value = data.get(spec.key)
        if spec.kind is FieldKind.NUMBER and spec.unit and value:
            assert any(f"{value}{spec.unit}" in line for line in lines), (key, spec.key)


def test_a_date_with_its_end_word_moves_to_the_next_line_whole(
    pages: dict[str, tuple[Page, dict[str, str]]],
) -> None:
    # The case found on the real estate certificate: 2078年05月|19日止.
    lines = lines_of(pages["real-estate-certificate"][0])
    assert any("2078年05月19日止" in line for line in lines), lines


@pytest.mark.parametrize("key", sorted(TYPES))
def test_every_date_on_a_page_has_one_format(
    pages: dict[str, tuple[Page, dict[str, str]]], key: str
) -> None:
    page, data = pages[key]
    text = page.text()
    dates = ANY_DATE.findall(text)
    assert dates, key  # at least the validity and the issue date
    assert all(ONE_FORMAT.fullmatch(found) for found in dates), (key, dates)
    assert not OTHER_DATE_FORMS.findall(text), key
    for spec in TYPES[key].fields:
        value = data.get(spec.key)
        if spec.kind is FieldKind.DATE and value:
            day = date.fromisoformat(value)
            assert f"{day.year}年{day.month:02d}月{day.day:02d}日" in text, (key, spec.key)


def test_amounts_are_printed_with_their_units(
    pages: dict[str, tuple[Page, dict[str, str]]],
) -> None:
    checked = set()
    for key, license_type in TYPES.items():
        page, data = pages[key]
        text = page.text()
        for spec in license_type.fields:
            value = data.get(spec.key)
            if spec.kind is FieldKind.NUMBER and spec.unit and value:
                assert f"{value}{spec.unit}" in text, (key, spec.key)
                checked.add(spec.unit)
    assert checked >= {"万元", "平方米", "日"}


@pytest.mark.parametrize("key", sorted(TYPES))
def test_the_license_number_is_printed_once(
    pages: dict[str, tuple[Page, dict[str, str]]], key: str
) -> None:
    page, _data = pages[key]
    text = page.text()
    assert text.count(number_of(TYPES[key])) == 1, key


def test_the_decision_carries_no_second_document_number(
    pages: dict[str, tuple[Page, dict[str, str]]],
) -> None:
    page, _data = pages["administrative-permission-decision"]
    numbered = [line for line in lines_of(page) if re.search(r"〔[0-9]{4}〕", line)]
    assert numbered == [number_of(TYPES["administrative-permission-decision"])]


def test_the_business_license_shows_its_credit_code_at_the_top(
    pages: dict[str, tuple[Page, dict[str, str]]],
) -> None:
    page, data = pages["business-license"]
    lines = page.lines()
    title_y = next(y for y, text, _ in lines if "营业执照" in text.replace(" ", ""))
    label_y = next(y for y, text, _ in lines if "统一社会信用代码" in text)
    code = data["credit_code"]
    assert code == example_data(TYPES["business-license"])["holder_id"]
    code_y = next(y for y, text, _ in lines if code in text)
    assert label_y > code_y > title_y
    assert page.text().count(code) == 1

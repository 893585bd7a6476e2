"""The department console's domain parts: the generated form, its messages, uploads, preview."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import zxingcpp
from PIL import Image

from tests.helpers import DEPARTMENT_A
from trustsvc.errors import InvalidInputError, InvalidLicenseDataError
from trustsvc.licenses.forms import Control, field_messages, form_data, issue_form
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.preview import preview_license
from trustsvc.licenses.types import example_data, get_type, load_types, validate_license_data
from trustsvc.licenses.uploads import read_upload, report_csv, template_csv, upload_text

TODAY = date(2026, 12, 1)
TYPES = load_types()


def test_form_follows_the_type_definition() -> None:
    business = issue_form(TYPES["business-license"])
    keys = [f.key for f in business.fields]
    # The credit code is the holder ID of a business license: asked for once, as the ID.
    assert keys[:4] == ["holder_name", "holder_id_type", "holder_id", "valid_from"]
    assert "credit_code" not in keys and "valid_until" not in keys
    holder_id = business.fields[2]
    assert holder_id.label_zh == "统一社会信用代码" and holder_id.check == "credit-code"
    entity = next(f for f in business.fields if f.key == "entity_type")
    assert entity.control is Control.SELECT and ("股份有限公司", "股份有限公司") in entity.choices
    scope = next(f for f in business.fields if f.key == "business_scope")
    assert scope.control is Control.TEXTAREA and scope.max_length == 2000
    assert business.validity_zh == "长期有效。"

    permit = issue_form(TYPES["construction-permit"])
    until = next(f for f in permit.fields if f.key == "valid_until")
    assert until.required and until.control is Control.DATE
    price = next(f for f in permit.fields if f.key == "contract_price")
    assert "万元" in price.hint_zh and price.pattern == r"[0-9]{1,9}(\.[0-9]{1,2})?"
    assert re.fullmatch(price.pattern, "18650.42")

    food = issue_form(TYPES["food-business-permit"])
    kinds = next(f for f in food.fields if f.key == "holder_id_type").choices
    assert [k for k, _ in kinds] == ["001", "111"]
    assert "5 年" in food.validity_zh
    # With two holder kinds the credit-code field may be the holder ID, or not.
    credit = next(f for f in food.fields if f.key == "credit_code")
    assert not credit.required and "可不填" in credit.hint_zh


def test_every_catalogue_example_passes_its_own_form() -> None:
    for license_type in TYPES.values():
        form = issue_form(license_type)
        example = {k: str(v) for k, v in example_data(license_type).items()}
        data = form_data(form, example)
        for field in form.fields:
            value = example.get(field.key)
            if value and field.pattern:
                assert re.fullmatch(field.pattern, value), (license_type.key, field.key)
            if value and field.max_length:
                assert len(value) <= field.max_length
        validate_license_data(license_type, data, TODAY)


def _messages(type_key: str, **changes: str) -> dict[str, str]:
    license_type = TYPES[type_key]
    data: dict[str, object] = {**example_data(license_type), **changes}
    data = {k: v for k, v in data.items() if v != ""}
    with pytest.raises(InvalidLicenseDataError) as caught:
        validate_license_data(license_type, data, TODAY)
    return field_messages(license_type, caught.value.problems, data, TODAY)


def test_refused_fields_get_one_chinese_message_each() -> None:
    messages = _messages(
        "business-license",
        holder_id="91330106MA27U1T087",  # check character wrong
        name="",
        established_on="2021-13-01",
        entity_type="无限公司",
    )
    assert messages == {
        "holder_id": "统一社会信用代码的校验位不对，请核对是否输错",
        "name": "请填写名称",
        "established_on": "成立日期请按“年-月-日”填写，如 2026-12-01",
        "entity_type": "请从列表中选择类型",
    }
    permit = _messages(
        "construction-permit",
        contract_price="很多",
        valid_until="2020-01-01",
        valid_from="2026-01-01",
    )
    assert (
        permit["contract_price"] == "合同价格请填数字，如 18650.42"
        or "请填数字" in permit["contract_price"]
    )
    assert permit["valid_until"] == "有效期截止日不能早于有效期起始日"
    person = _messages(
        "real-estate-certificate", holder_id_type="111", holder_id="11010519491231002Y"
    )
    assert person["holder_id"].startswith("公民身份号码格式不对")
    far = _messages("business-license", established_on="1900-01-01")
    assert "超出可用范围" in far["established_on"]
    assert all(re.search(r"[\u4e00-\u9fff]", m) for m in (*messages.values(), *permit.values()))


def test_upload_reads_utf8_with_and_without_bom_and_gb18030() -> None:
    license_type = TYPES["business-license"]
    text = (
        "持证主体名称,持证主体代码类型,统一社会信用代码,名称\r\n"
        "甲公司,统一社会信用代码,91330106MA27U1T086,甲公司\r\n"
    )
    for encoded in (text.encode(), b"\xef\xbb\xbf" + text.encode(), text.encode("gb18030")):
        rows = read_upload(license_type, "批量.csv", encoded)
        assert rows == [
            {
                "holder_name": "甲公司",
                "holder_id_type": "001",
                "holder_id": "91330106MA27U1T086",
                "name": "甲公司",
            }
        ]
    assert upload_text(text.encode("gb18030"))[1] == "gb18030"
    with pytest.raises(InvalidInputError, match="UTF-16"):
        upload_text(text.encode("utf-16"))
    with pytest.raises(InvalidInputError, match="GB18030"):
        upload_text(b"\x81\x30\xff\xfe\x00 bad")
    with pytest.raises(InvalidInputError, match="没有数据行"):
        read_upload(license_type, "x.csv", b"holder_name\r\n")
    # A row with more values than columns is reported in its place, not the whole file.
    rows = read_upload(license_type, "x.csv", b"holder_name\r\na,b\r\nc\r\n")
    assert "__error__" in rows[0] and rows[1] == {"holder_name": "c"}


def test_template_reads_back_as_the_example() -> None:
    for license_type in TYPES.values():
        [row] = read_upload(license_type, "t.csv", template_csv(license_type))
        validate_license_data(license_type, row, TODAY)


def test_report_is_spreadsheet_csv_in_chinese() -> None:
    report = report_csv(
        [
            {"row": 1, "status": "issued", "identifier": "X1", "license_number": "N1"},
            {"row": 2, "status": "error", "code": "invalid-input", "error": "=cmd|x"},
            {"row": 3, "status": "duplicate", "duplicate_of_row": 1, "error": "repeats row 1"},
        ]
    )
    assert report.startswith(b"\xef\xbb\xbf")
    lines = report[3:].decode().splitlines()
    assert lines[1] == "1,已签发,N1,X1,,issued,"
    assert lines[2] == "2,有误，未签发,,,'=cmd|x,error,invalid-input"
    assert lines[3].startswith("3,重复，未签发,,,与第 1 行重复")


def test_preview_is_the_unsealed_page_with_a_placeholder_number(licenses: IssuingService) -> None:
    license_type = get_type(licenses.types, "business-license")
    data = example_data(license_type)
    preview = preview_license(licenses, "杭州市市场监督管理局", "business-license", data)
    assert preview.pdf.startswith(b"%PDF") and b"/ByteRange" not in preview.pdf
    with Image.open(io.BytesIO(preview.png)) as image:
        assert image.width > 800 and image.height > image.width
        [code] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert code.text.endswith("/v/preview-not-issued")
    with pytest.raises(InvalidLicenseDataError):
        preview_license(licenses, "x", "business-license", {**data, "holder_id": "bad"})
    # Nothing was numbered or recorded.
    assert licenses.search(_query(licenses)) == []


def _query(licenses: IssuingService):  # type: ignore[no-untyped-def]
    from trustsvc.licenses.library import LicenseQuery

    return LicenseQuery(department_code=DEPARTMENT_A, today=licenses.today(), limit=5)


def test_search_by_holder_keeps_the_status_asked_for(licenses: IssuingService) -> None:
    from trustsvc.licenses.library import Action, EffectiveStatus, LicenseQuery
    from trustsvc.licenses.requests import IssueRequest

    license_type = get_type(licenses.types, "real-estate-certificate")
    data = {
        **example_data(license_type),
        "holder_id_type": "111",
        "holder_id": "11010519491231002X",
    }
    first = licenses.issue(IssueRequest(DEPARTMENT_A, license_type.key, data)).license
    second = licenses.issue(
        IssueRequest(DEPARTMENT_A, license_type.key, {**data, "unit_number": _other_unit(data)})
    ).license
    licenses.transition(first.identifier, Action.SUSPEND, "officer", "核查")
    query = LicenseQuery(
        department_code=DEPARTMENT_A,
        effective_status=EffectiveStatus.VALID,
        today=licenses.today(),
    )
    found = licenses.search(query, holder_id="11010519491231002x", holder_id_type="111")
    assert [v.identifier for v in found] == [second.identifier]


def _other_unit(data: dict[str, str]) -> str:
    unit = data["unit_number"]
    return unit[:-1] + ("1" if unit[-1] != "1" else "2")


def test_a_batch_rows_refusal_is_worded_in_chinese_from_its_message() -> None:
    from trustsvc.licenses.forms import problems_of, row_message

    license_type = TYPES["business-license"]
    data = {
        **example_data(license_type),
        "holder_id": "91330106MA27U1T087",
        "name": "",
        "business_term": "a; name: b",  # a value that looks like a key does not split
    }
    data = {k: v for k, v in data.items() if v != ""}
    data["registered_capital"] = "x" * 51
    with pytest.raises(InvalidLicenseDataError) as caught:
        validate_license_data(license_type, data, TODAY)
    assert problems_of(license_type, caught.value.message) == caught.value.problems
    assert row_message(license_type, caught.value.message, TODAY) == (
        "统一社会信用代码的校验位不对，请核对是否输错；请填写名称；注册资本最多 50 字，请删减"
    )
    assert row_message(license_type, "line 3: more values than columns", TODAY) == (
        "line 3: more values than columns"
    )
    assert problems_of(license_type, "invalid license data: nonsense") is None

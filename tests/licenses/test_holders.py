from __future__ import annotations

import pytest

from trustsvc.codes.identifiers import citizen_id_check_character
from trustsvc.errors import InvalidCreditCodeError, InvalidInputError
from trustsvc.licenses.holders import (
    HolderIdType,
    mask_holder_id,
    mask_holder_name,
    validate_holder_id,
)

CITIZEN_ID = "11010519491231002X"  # GB 11643's own worked example
CREDIT_CODE = "11430000006122244L"
# A 2017-format permanent residence card number: 9, 16 digits, a GB 11643 check.
PERMANENT_RESIDENT_BODY = "93301108501012345"
PERMANENT_RESIDENT_ID = PERMANENT_RESIDENT_BODY + citizen_id_check_character(
    PERMANENT_RESIDENT_BODY
)


@pytest.mark.parametrize(
    ("id_type", "value", "normalised"),
    [
        (HolderIdType.CITIZEN_ID, "11010519491231002x", CITIZEN_ID),
        (HolderIdType.CREDIT_CODE, " 11430000006122244l ", CREDIT_CODE),
        (HolderIdType.PASSPORT, "e12345678", "E12345678"),
        (HolderIdType.PASSPORT, "G1234", "G1234"),
        (HolderIdType.HONG_KONG_MACAO_PERMIT, "h12345678", "H12345678"),
        (HolderIdType.HONG_KONG_MACAO_PERMIT, "M1234567890", "M1234567890"),
        (HolderIdType.TAIWAN_PERMIT, "12345678", "12345678"),
        (HolderIdType.TAIWAN_PERMIT, "1234567890", "1234567890"),
        (HolderIdType.FOREIGN_PERMANENT_RESIDENT_ID, "usa330619850312", "USA330619850312"),
        (HolderIdType.FOREIGN_PERMANENT_RESIDENT_ID, PERMANENT_RESIDENT_ID, PERMANENT_RESIDENT_ID),
        ("111", CITIZEN_ID, CITIZEN_ID),
    ],
)
def test_valid_holder_ids_are_normalised(
    id_type: HolderIdType | str, value: str, normalised: str
) -> None:
    assert validate_holder_id(id_type, value) == normalised


@pytest.mark.parametrize(
    ("id_type", "value", "problem"),
    [
        (HolderIdType.CITIZEN_ID, "110105194912310021", "check character"),
        (HolderIdType.CITIZEN_ID, "1101051949123100", "17 digits"),
        (HolderIdType.PASSPORT, "E123", "5 to 17"),
        (HolderIdType.PASSPORT, "E1234-5678", "5 to 17"),
        (HolderIdType.PASSPORT, "E" * 18, "5 to 17"),
        (HolderIdType.HONG_KONG_MACAO_PERMIT, "C12345678", "H or M"),
        (HolderIdType.HONG_KONG_MACAO_PERMIT, "H123456789", "H or M"),
        (HolderIdType.TAIWAN_PERMIT, "123456789", "8 or 10 digits"),
        (HolderIdType.TAIWAN_PERMIT, "T12345678", "8 or 10 digits"),
        (HolderIdType.FOREIGN_PERMANENT_RESIDENT_ID, "US3306198503121", "3 letters"),
        (HolderIdType.FOREIGN_PERMANENT_RESIDENT_ID, CITIZEN_ID, "3 letters"),
        (
            HolderIdType.FOREIGN_PERMANENT_RESIDENT_ID,
            PERMANENT_RESIDENT_BODY + ("0" if PERMANENT_RESIDENT_ID[-1] != "0" else "1"),
            "permanent resident ID number has check character",
        ),
    ],
)
def test_invalid_holder_ids_name_the_problem(
    id_type: HolderIdType, value: str, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        validate_holder_id(id_type, value)


def test_credit_code_holders_get_the_gb_32100_check() -> None:
    with pytest.raises(InvalidCreditCodeError, match="check character"):
        validate_holder_id("001", "11430000006122244M")


def test_unknown_type_code_lists_the_allowed_ones() -> None:
    with pytest.raises(InvalidInputError, match="unknown holder ID type code '999'") as caught:
        validate_holder_id("999", "anything")
    for kind in HolderIdType:
        assert f"{kind.value} {kind.label_zh}" in caught.value.message


def test_every_kind_has_labels_in_both_languages() -> None:
    assert HolderIdType("111").label_zh == "公民身份号码"
    assert HolderIdType("001").label_en == "Unified social credit code"
    for kind in HolderIdType:
        assert kind.label_zh and kind.label_en


def test_only_credit_code_holders_are_organisations() -> None:
    assert [kind for kind in HolderIdType if not kind.is_person] == [HolderIdType.CREDIT_CODE]


@pytest.mark.parametrize(
    ("id_type", "value", "masked"),
    [
        ("111", CITIZEN_ID, "110105********002X"),
        ("001", CREDIT_CODE, CREDIT_CODE),
        ("414", "E12345678", "E1*****78"),
        ("516", "H12345678", "H1*****78"),
        ("511", "1234567890", "12******90"),
        ("554", "USA330619850312", "US***********12"),
        ("414", "E123", "****"),
    ],
)
def test_holder_ids_are_masked_for_public_pages(id_type: str, value: str, masked: str) -> None:
    assert mask_holder_id(id_type, value) == masked


@pytest.mark.parametrize(
    ("name", "id_type", "masked"),
    [
        ("张三丰", "111", "张**"),
        ("李四", "111", "李**"),
        ("王", "111", "王**"),
        ("欧阳明月", "111", "欧**"),
        ("JOHN SMITH", "414", "J**"),
        ("杭州示例科技有限公司", "001", "杭州示例科技有限公司"),
    ],
)
def test_holder_names_are_masked_for_people_only(name: str, id_type: str, masked: str) -> None:
    assert mask_holder_name(name, id_type) == masked


def test_a_masked_name_does_not_tell_its_length() -> None:
    # 张三 and 张三丰 (and the same name with spaces around it) look alike in public.
    masks = {mask_holder_name(name, "111") for name in ("张", "张三", " 张三丰 ", "张三丰四五六")}
    assert masks == {"张**"}

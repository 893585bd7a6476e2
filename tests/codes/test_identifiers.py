from __future__ import annotations

import pytest

from trustsvc.codes.identifiers import (
    credit_code_check_character,
    validate_citizen_id,
    validate_credit_code,
)
from trustsvc.errors import InvalidCreditCodeError, InvalidInputError

# Issuer codes of the published GB/T 36904 identifiers in the glossary.
PUBLISHED_CREDIT_CODES = ["11430000006122244L", "11370800MB28559184"]


@pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
def test_published_credit_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code


def test_credit_code_is_normalised_to_upper_case() -> None:
    assert validate_credit_code(" 11370800mb28559184 ") == "11370800MB28559184"


def test_check_character_is_recomputed_not_trusted() -> None:
    body = "91110000100000000"
    good = body + credit_code_check_character(body)
    validate_credit_code(good)
    for wrong in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if body + wrong != good:
            with pytest.raises(InvalidCreditCodeError, match="check character"):
                validate_credit_code(body + wrong)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("1143000000612224", "18 characters"),
        ("11430000006122244L0", "18 characters"),
        ("1143000000612224IL", "not allowed"),  # I is not in the GB 32100 alphabet
        ("1143000000612224OL", "not allowed"),
        ("", "18 characters"),
    ],
)
def test_malformed_credit_codes_name_the_problem(code: str, problem: str) -> None:
    with pytest.raises(InvalidCreditCodeError, match=problem):
        validate_credit_code(code)


def test_citizen_id_check_digit() -> None:
    # GB 11643's own worked example.
    assert validate_citizen_id("11010519491231002x") == "11010519491231002X"
    with pytest.raises(InvalidInputError, match="check character"):
        validate_citizen_id("110105194912310021")
    with pytest.raises(InvalidInputError, match="17 digits"):
        validate_citizen_id("11010519491231002")

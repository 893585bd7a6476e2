from __future__ import annotations

import pytest

from trustsvc.codes.identifiers import (
    MOD37_36_ALPHABET,
    LicenseIdentifier,
    mod37_36_check_character,
    parse_identifier,
    validate_license_type_code,
)
from trustsvc.errors import InvalidIdentifierError, InvalidInputError

# The two published GB/T 36904 identifiers in the glossary.
PUBLISHED = [
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
    "1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
]
FIRST = PUBLISHED[0]


@pytest.mark.parametrize("text", PUBLISHED)
def test_published_identifiers_parse_and_round_trip(text: str) -> None:
    identifier = parse_identifier(text)
    assert str(identifier) == text
    assert identifier.check_character == text[-1]


def test_parts_of_a_published_identifier() -> None:
    identifier = parse_identifier(FIRST)
    assert identifier == LicenseIdentifier(
        type_code="11100000000013338W011",
        issuer_code="11430000006122244L",
        serial="20230000403",
        version=2,
    )


@pytest.mark.parametrize("text", PUBLISHED)
def test_check_character_is_mod37_36_over_the_parts_without_dots(text: str) -> None:
    *_, type_code, issuer, serial, version, check = text.split(".")
    assert mod37_36_check_character(type_code + issuer + serial + version) == check


def test_building_an_identifier_reproduces_the_published_one() -> None:
    identifier = LicenseIdentifier(
        "11100000000013338W087", "11370800MB28559184", "37080001202411010001", 1
    )
    assert str(identifier) == PUBLISHED[1]


@pytest.mark.parametrize("text", PUBLISHED)
def test_every_other_check_character_is_rejected(text: str) -> None:
    correct = text[-1]
    for wrong in MOD37_36_ALPHABET.replace(correct, ""):
        with pytest.raises(
            InvalidIdentifierError, match=f"check character '{wrong}'.*gives '{correct}'"
        ):
            parse_identifier(text[:-1] + wrong)


def test_tampered_serial_is_detected() -> None:
    tampered = FIRST.replace(".20230000403.", ".20230000404.")
    with pytest.raises(InvalidIdentifierError, match="check character"):
        parse_identifier(tampered)


def test_tampered_version_is_detected() -> None:
    tampered = FIRST.replace(".002.S", ".003.S")
    with pytest.raises(InvalidIdentifierError, match="check character"):
        parse_identifier(tampered)


def test_lower_case_input_is_normalised() -> None:
    assert parse_identifier(f"  {PUBLISHED[1].lower()} ") == parse_identifier(PUBLISHED[1])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (FIRST.replace("1.2.156.3005.2.", "1.2.156.3005.3."), "must start with"),
        (FIRST.removesuffix(".S"), "5 parts"),
        (FIRST + ".S", "5 parts"),
        (FIRST.replace("W011", "W01"), "21 characters"),
        (FIRST.replace("W011", "W01A"), "3 digits"),
        # The defining authority's credit code with a wrong GB 32100 check character.
        (FIRST.replace("13338W011", "13338X011"), "type code.*GB 32100"),
        (FIRST.replace("6122244L", "6122244M"), "issuer code.*GB 32100"),
        (FIRST.replace("6122244L", "612244L"), "issuer code.*18 characters"),
        (FIRST.replace("20230000403", "2023000040A"), "serial"),
        (FIRST.replace("20230000403", ""), "serial"),
        # Only a serial of more than 30 digits makes an identifier this long.
        (FIRST.replace("20230000403", "1" * 31), "at most 92"),
        (FIRST.replace(".002.", ".02."), "version '02'.*001 to 999"),
        (FIRST.replace(".002.", ".000."), "version '000'"),
        (FIRST.replace(".002.", ".0002."), "version '0002'"),
        (FIRST.replace(".S", ".SS"), "one check character"),
        (FIRST.replace(".S", ".*"), "one check character"),
        (FIRST + "0" * 100, "at most 92"),
        ("", "must start with"),
    ],
)
def test_malformed_identifiers_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=problem):
        parse_identifier(text)


def test_identifier_errors_are_input_errors() -> None:
    with pytest.raises(InvalidInputError):
        parse_identifier("not an identifier")
    assert InvalidIdentifierError.code == "invalid-identifier"


def test_next_version_keeps_the_serial_and_changes_the_check() -> None:
    first = parse_identifier(FIRST)
    second = first.next_version()
    assert (second.type_code, second.issuer_code, second.serial) == (
        first.type_code,
        first.issuer_code,
        first.serial,
    )
    assert second.version == 3
    assert str(second).endswith(f".003.{second.check_character}")
    assert parse_identifier(str(second)) == second


def test_version_999_is_the_last() -> None:
    last = LicenseIdentifier("11100000000013338W011", "11430000006122244L", "1", 999)
    assert str(last).split(".")[-2] == "999"
    with pytest.raises(InvalidIdentifierError, match="999"):
        last.next_version()


@pytest.mark.parametrize("version", [0, 1000, -1, True])
def test_constructing_with_a_bad_version_is_refused(version: int) -> None:
    with pytest.raises(InvalidIdentifierError, match="version"):
        LicenseIdentifier("11100000000013338W011", "11430000006122244L", "1", version)


@pytest.mark.parametrize("serial", ["", "1" * 31, "12A", "-1"])
def test_constructing_with_a_bad_serial_is_refused(serial: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="1 to 30 digits"):
        LicenseIdentifier("11100000000013338W011", "11430000006122244L", serial, 1)


def test_construction_normalises_so_equal_identifiers_compare_equal() -> None:
    lower = LicenseIdentifier("11100000000013338w087", "11370800mb28559184", "42", 1)
    upper = LicenseIdentifier("11100000000013338W087", "11370800MB28559184", "42", 1)
    assert lower == upper
    assert hash(lower) == hash(upper)


def test_license_type_codes() -> None:
    # The published type codes begin with a credit code that passes GB 32100.
    assert validate_license_type_code("11100000000013338w011") == "11100000000013338W011"
    with pytest.raises(InvalidIdentifierError, match="GB 32100"):
        validate_license_type_code("11100000000013338X011")


def test_mod37_36_refuses_characters_outside_its_alphabet() -> None:
    with pytest.raises(InvalidIdentifierError, match="not allowed"):
        mod37_36_check_character("ABC-1")

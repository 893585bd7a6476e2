"""FF1 against NIST's samples, and serials that are unique but cannot be guessed."""

from __future__ import annotations

import itertools
import string

import pytest

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
from trustsvc.codes.identifiers import LicenseIdentifier
from trustsvc.codes.serials import FF1, SERIAL_DIGITS, SerialCipher
from trustsvc.errors import InvalidInputError

# NIST SP 800-38G sample vectors (FF1samples.pdf): AES-128, -192 and -256 keys.
KEY_128 = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
KEY_192 = KEY_128 + bytes.fromhex("EF4359D8D580AA4F")
KEY_256 = KEY_192 + bytes.fromhex("7F036D6F04FC6A94")
TWEAK_10 = bytes.fromhex("39383736353433323130")
TWEAK_36 = bytes.fromhex("3737373770717273373737")
BASE_36 = string.digits + string.ascii_lowercase
ISSUER = DEPARTMENT_A


def _number(text: str, radix: int) -> int:
    value = 0
    for ch in text:
        value = value * radix + BASE_36.index(ch)
    return value


def _text(value: int, radix: int, length: int) -> str:
    digits = []
    for _ in range(length):
        value, digit = divmod(value, radix)
        digits.append(BASE_36[digit])
    return "".join(reversed(digits))


@pytest.mark.parametrize(
    ("key", "radix", "tweak", "plain", "cipher"),
    [
        (KEY_128, 10, b"", "0123456789", "2433477484"),
        (KEY_128, 10, TWEAK_10, "0123456789", "6124200773"),
        (KEY_128, 36, TWEAK_36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
        (KEY_192, 10, b"", "0123456789", "2830668132"),
        (KEY_192, 10, TWEAK_10, "0123456789", "2496655549"),
        (KEY_192, 36, TWEAK_36, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"),
        (KEY_256, 10, b"", "0123456789", "6657667009"),
        (KEY_256, 10, TWEAK_10, "0123456789", "1001623463"),
        (KEY_256, 36, TWEAK_36, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"),
    ],
)
def test_ff1_gives_nist_sample_results(
    key: bytes, radix: int, tweak: bytes, plain: str, cipher: str
) -> None:
    ff1 = FF1(key, radix, len(plain))
    enciphered = ff1.encrypt(_number(plain, radix), tweak)
    assert _text(enciphered, radix, len(plain)) == cipher
    assert _text(ff1.decrypt(enciphered, tweak), radix, len(plain)) == plain


def test_ff1_refuses_what_the_standard_does_not_allow() -> None:
    with pytest.raises(ValueError, match="key"):
        FF1(b"short", 10, 16)
    with pytest.raises(ValueError, match="million"):
        FF1(KEY_128, 10, 5)
    with pytest.raises(ValueError, match="below"):
        FF1(KEY_128, 10, 6).encrypt(10**6)


def test_serials_are_unique_and_do_not_follow_the_counter() -> None:
    cipher = SerialCipher(bytes(range(32)))
    serials = [cipher.serial(ISSUER, 2026, sequence) for sequence in range(1, 3001)]
    assert len(set(serials)) == len(serials)
    for serial in serials:
        # 4 digits of year and 16 enciphered ones: a valid GB/T 36904 serial.
        assert len(serial) == 4 + SERIAL_DIGITS and serial.startswith("2026")
        LicenseIdentifier("11100000000013338W011", ISSUER, serial, 1)
    values = [int(serial[4:]) for serial in serials]
    # Consecutive counter values land anywhere in the 10^16 values, not side by side.
    gaps = [abs(later - earlier) for earlier, later in itertools.pairwise(values)]
    assert min(gaps) > 10**6
    # Spread over the whole domain: every leading digit occurs.
    assert {serial[4] for serial in serials} == set(string.digits)


def test_serials_depend_on_the_key_and_the_issuer() -> None:
    one, other = SerialCipher(bytes(32)), SerialCipher(bytes([1]) * 32)
    assert one.serial(ISSUER, 2026, 7) != other.serial(ISSUER, 2026, 7)
    assert one.serial(ISSUER, 2026, 7) != one.serial(DEPARTMENT_B, 2026, 7)
    # The year is in front only: the enciphered part is the counter's.
    assert one.serial(ISSUER, 2026, 7)[4:] == one.serial(ISSUER, 2027, 7)[4:]


@pytest.mark.parametrize(("year", "sequence"), [(2026, 0), (2026, 10**16), (10_000, 1)])
def test_serial_inputs_are_bounded(year: int, sequence: int) -> None:
    with pytest.raises(InvalidInputError):
        SerialCipher(bytes(32)).serial(ISSUER, year, sequence)

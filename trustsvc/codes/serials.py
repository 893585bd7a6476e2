"""Unguessable license serials: the issuer's counter enciphered with FF1 (NIST SP 800-38G).

GB/T 36904 leaves the serial (流水号) of an identifier to the issuer; it only
has to be unique for the issuer and made of digits. A counter is unique but
guessable: knowing one identifier, anyone could list the library by trying its
neighbours. So the serial printed into an identifier is the counter value
enciphered with FF1 over 16 decimal digits, keyed by a subkey of the home's data
key and tweaked with the issuer code. FF1 is a permutation of the 10^16 digit
strings, so distinct counter values give distinct serials (uniqueness comes
free, blocks of counter values can still be reserved per process), while a
serial says nothing about the next one: a guess hits one of N issued licenses
with probability N / 10^16.

FF1 rather than FF3-1: NIST's second draft of SP 800-38G Rev. 1 (2025) drops
FF3-1 after the attacks on its tweak schedule. The PyPI packages offering FF1
are young single-author projects; FF1 is short enough to write down against
the specification and check against NIST's published samples (see the tests).
The printed license number (证照编号) is not enciphered: it is a separate,
visible sequence that the issuer accounts for.
"""

from __future__ import annotations

import math

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from trustsvc.errors import InvalidInputError

#: Digits of the enciphered part of a serial: 10^16 possible values per issuer.
SERIAL_DIGITS = 16
_ROUNDS = 10
_BLOCK = 16


class FF1:
    """FF1 (NIST SP 800-38G, Algorithms 7 and 8) over numeral strings of one length.

    Numeral strings are handled as integers below ``radix ** length``: the
    numeral string is the integer's ``length`` digits in base ``radix``,
    leading zeros included.
    """

    def __init__(self, key: bytes, radix: int, length: int) -> None:
        if len(key) not in (16, 24, 32):
            raise ValueError("FF1 needs an AES key of 16, 24 or 32 bytes")
        if not 2 <= radix <= 2**16:
            raise ValueError("FF1 radix must be 2 to 65536")
        # SP 800-38G Rev. 1: radix ** minlen >= 1,000,000 and minlen >= 2.
        if length < 2 or radix**length < 1_000_000 or length > 2**32 - 1:
            raise ValueError("FF1 needs a domain of at least a million values")
        self._aes = algorithms.AES(key)
        self.radix = radix
        self.length = length
        self._u = length // 2
        self._v = length - self._u
        self._b = math.ceil(math.ceil(self._v * math.log2(radix)) / 8)
        self._d = 4 * math.ceil(self._b / 4) + 4
        self._p = (
            bytes([1, 2, 1])
            + radix.to_bytes(3, "big")
            + bytes([10, self._u % 256])
            + length.to_bytes(4, "big")
        )
        self.domain: int = radix**length

    def _round_values(self, tweak: bytes) -> tuple[bytes, int]:
        """P (with the tweak length) and the zero padding of Q for this tweak."""
        return self._p + len(tweak).to_bytes(4, "big"), (-len(tweak) - self._b - 1) % _BLOCK

    def _prf_number(self, encryptor: CipherContext, pq: bytes) -> int:
        """NUM(S) for one round: the CBC-MAC of P || Q (step 6.ii), stretched to d bytes."""
        update = encryptor.update
        r = 0
        for start in range(0, len(pq), _BLOCK):
            block = int.from_bytes(pq[start : start + _BLOCK], "big")
            r = int.from_bytes(update((r ^ block).to_bytes(_BLOCK, "big")), "big")
        s = r.to_bytes(_BLOCK, "big")
        j = 1
        while len(s) < self._d:
            s += update((r ^ j).to_bytes(_BLOCK, "big"))
            j += 1
        return int.from_bytes(s[: self._d], "big")

    def encrypt(self, value: int, tweak: bytes = b"") -> int:
        """The enciphered numeral string of ``value`` (0 <= value < radix ** length)."""
        return self._run(value, tweak, decrypt=False)

    def decrypt(self, value: int, tweak: bytes = b"") -> int:
        """The inverse of ``encrypt`` under the same key and tweak."""
        return self._run(value, tweak, decrypt=True)

    def _run(self, value: int, tweak: bytes, *, decrypt: bool) -> int:
        if not 0 <= value < self.domain:
            raise ValueError(f"FF1 input must be below {self.radix}^{self.length}")
        radix, u, v = self.radix, self._u, self._v
        modulus_u: int = radix**u
        modulus_v: int = radix**v
        a, b = divmod(value, modulus_v)  # A: the first u numerals, B: the last v
        p, padding = self._round_values(tweak)
        head = p + tweak + bytes(padding)
        encryptor = Cipher(self._aes, modes.ECB()).encryptor()  # noqa: S305 - CBC-MAC by hand
        rounds = range(_ROUNDS - 1, -1, -1) if decrypt else range(_ROUNDS)
        for i in rounds:
            modulus = modulus_u if i % 2 == 0 else modulus_v
            source = a if decrypt else b
            y = self._prf_number(encryptor, head + bytes([i]) + source.to_bytes(self._b, "big"))
            if decrypt:
                a, b = (b - y) % modulus, a
            else:
                a, b = b, (a + y) % modulus
        return a * modulus_v + b


class SerialCipher:
    """Turns an issuer's counter values into the serials of its identifiers."""

    def __init__(self, key: bytes) -> None:
        self._ff1 = FF1(key, 10, SERIAL_DIGITS)

    def __repr__(self) -> str:
        return "SerialCipher(...)"

    def serial(self, issuer_code: str, year: int, sequence: int) -> str:
        """The 20-digit serial: the year of issue and the enciphered counter value.

        The issuer code is the tweak, so two issuers' serials of one counter value
        are unrelated. The year is kept in front, as issuers' own serials do.
        """
        if not 1 <= sequence < self._ff1.domain:
            raise InvalidInputError(
                f"serial counter value {sequence} is outside 1 to 10^{SERIAL_DIGITS} - 1"
            )
        if not 1 <= year <= 9999:
            raise InvalidInputError(f"year {year} has not 4 digits")
        enciphered = self._ff1.encrypt(sequence, issuer_code.encode("ascii"))
        return f"{year:04d}{enciphered:0{SERIAL_DIGITS}d}"

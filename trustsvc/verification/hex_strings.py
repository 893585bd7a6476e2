"""PDF hexadecimal strings (ISO 32000-2, 7.3.4.3) read in one step, to pyHanko's exact result.

pyHanko's parser reads a hexadecimal string one byte at a time in Python. A
seal's ``/Contents`` is such a string of some 12,000 digits, and reading it
was a quarter of a whole verification. ``read_hex_string`` reads the common
form — hex digits and white space up to ``>``, from an in-memory file — with
one regular expression and hands everything else (comments, invalid bytes,
a missing ``>``, other streams) to pyHanko's own reader, unchanged. For the
common form the result is pyHanko's: the same string object, the same
padding of an odd digit count, the file positioned after ``>``
(``tests/verification/test_hex_strings.py`` compares the two).

``install`` puts it in the place of pyHanko's reader, for the whole process,
and only for the pyHanko versions it was compared with: on any other version
pyHanko's reader stays, and verification is just slower. It is called once,
by each process's entry point (the API's ``create_app``, the CLI, a
verification child, the test session), never by a constructor: which reader a
process uses does not depend on what it happened to build first.
"""

from __future__ import annotations

import binascii
import io
import re
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.version import __version__ as pyhanko_version

#: pyHanko versions whose hexadecimal string reader this one was compared with.
COMPARED_WITH = frozenset({"0.38.0"})

_PYHANKO_READER = generic.read_hex_string_from_stream
# PDF white space (ISO 32000-2, Table 1), as pyHanko's reader skips it.
_WHITESPACE = b" \n\r\t\f\x00"
_COMMON_FORM = re.compile(rb"<([0-9A-Fa-f \n\r\t\f\x00]*)>")


def read_hex_string(stream: Any) -> generic.ByteStringObject | generic.TextStringObject:
    """Read the hexadecimal string starting at the stream's position (at its ``<``)."""
    if isinstance(stream, io.BytesIO):
        start = stream.tell()
        with stream.getbuffer() as view:
            match = _COMMON_FORM.match(view, start)
            digits = match.group(1) if match is not None else None
            end = match.end() if match is not None else start
            del match
        if digits is not None:
            digits = digits.translate(None, _WHITESPACE)
            if len(digits) % 2:
                digits += b"0"
            stream.seek(end)
            result: generic.ByteStringObject | generic.TextStringObject = generic.pdf_string(
                binascii.unhexlify(digits)
            )
            return result
    pyhanko_result: generic.ByteStringObject | generic.TextStringObject = _PYHANKO_READER(stream)
    return pyhanko_result


def install() -> bool:
    """Use ``read_hex_string`` in pyHanko's parser; whether it is in use."""
    if generic.read_hex_string_from_stream is read_hex_string:
        return True
    if pyhanko_version not in COMPARED_WITH:
        return False
    generic.read_hex_string_from_stream = read_hex_string
    return True

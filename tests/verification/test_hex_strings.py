"""The fast hexadecimal string reader gives pyHanko's result, or lets pyHanko's reader decide."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError

from trustsvc.bootstrap import build_verifier
from trustsvc.licenses.issuing import IssuingService
from trustsvc.services import Services
from trustsvc.verification import hex_strings

_PYHANKO = hex_strings._PYHANKO_READER

CASES = [
    b"<>",
    b"<41>",
    b"<4142434>",  # odd: padded with 0
    b"<48 65 6c\n6C\r6f\t20\x0057\x0c6f>",  # every kind of PDF white space
    b"<FEFF00480069>",  # UTF-16BE: a text string
    b"<EFBBBF48>",  # UTF-8 byte order mark
    b"<" + b"3082" * 3000 + b"0" * 8000 + b">",  # a seal's /Contents
    b"<41 % a comment\n42>",  # comments: pyHanko's reader
    b"<41Z42>",  # an invalid byte: pyHanko's error
    b"<4142",  # no closing bracket
    b"<41 42",
]


def _read(reader: object, data: bytes) -> tuple[object, int]:
    stream = io.BytesIO(b"xx " + data + b" yy")
    stream.seek(3)
    try:
        value = reader(stream)  # type: ignore[operator]
    except PdfError as exc:
        return type(exc), stream.tell()
    assert isinstance(value, (generic.ByteStringObject, generic.TextStringObject))
    return (type(value), value.original_bytes, str(value)), stream.tell()


@pytest.mark.parametrize("data", CASES)
def test_the_result_and_position_are_pyhankos(data: bytes) -> None:
    assert _read(hex_strings.read_hex_string, data) == _read(_PYHANKO, data)


def test_other_streams_are_read_by_pyhanko() -> None:
    class Stream(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._inner.read(size)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self._inner.seek(offset, whence)

        def tell(self) -> int:
            return self._inner.tell()

    value = hex_strings.read_hex_string(Stream(b"<4142>"))
    assert value.original_bytes == b"AB"


def test_installed_only_on_the_pyhanko_versions_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generic, "read_hex_string_from_stream", _PYHANKO)
    monkeypatch.setattr(hex_strings, "pyhanko_version", "99.0.0")
    assert hex_strings.install() is False
    assert generic.read_hex_string_from_stream is _PYHANKO
    monkeypatch.setattr(hex_strings, "pyhanko_version", next(iter(hex_strings.COMPARED_WITH)))
    assert hex_strings.install() is True
    assert generic.read_hex_string_from_stream is hex_strings.read_hex_string


def test_building_a_verifier_leaves_the_reader_alone(
    services: Services, licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader is the entry point's choice (``install`` at start-up), never a constructor's."""
    monkeypatch.setattr(generic, "read_hex_string_from_stream", _PYHANKO)
    verifier = build_verifier(services, allow_fetching=False)
    assert verifier.verify_pdf(b"%PDF-1.7 not a license").verdict is not None
    assert generic.read_hex_string_from_stream is _PYHANKO

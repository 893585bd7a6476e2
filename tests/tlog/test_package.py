"""The tlog package stays pure (standard library, cryptography and the error root only),
and its parsers answer any input with their own format error, never anything else."""

from __future__ import annotations

import ast
import sys
from contextlib import suppress
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import trustsvc.tlog
from trustsvc.tlog.checkpoint import parse_checkpoint_text
from trustsvc.tlog.errors import FormatError
from trustsvc.tlog.note import parse_note, parse_skey, parse_vkey
from trustsvc.tlog.proof import parse_proof
from trustsvc.tlog.tiles import parse_entry_bundle, parse_tile_path
from trustsvc.tlog.witness import WitnessBadRequestError, parse_request

ALLOWED = {"cryptography", "trustsvc.errors", "trustsvc.tlog"}


def test_tlog_imports_only_the_standard_library_and_cryptography() -> None:
    for path in Path(trustsvc.tlog.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                ok = top in sys.stdlib_module_names or any(
                    name == a or name.startswith(a + ".") for a in ALLOWED
                )
                assert ok, f"{path.name} imports {name}"


# A sprinkle of the characters the formats are made of, so inputs get past the first check.
_TEXT = st.text(alphabet=st.sampled_from("\n \u2014+=/Aa09xold index extra.p"), max_size=300)
_BYTES = st.one_of(st.binary(max_size=300), _TEXT.map(lambda t: t.encode("utf-8")))


@settings(max_examples=400, deadline=None)
@given(_BYTES)
def test_byte_parsers_fail_only_with_their_error(data: bytes) -> None:
    for parse in (parse_note, parse_proof, lambda d: parse_entry_bundle(d, 3)):
        with suppress(FormatError):
            parse(data)
    with suppress(WitnessBadRequestError):
        parse_request(data)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_text_parsers_fail_only_with_their_error(text: str) -> None:
    for parse in (parse_checkpoint_text, parse_tile_path, parse_vkey, parse_skey):
        with suppress(FormatError):
            parse(text)

"""Batch files and rows from outsiders: bounded, UTF-8, one flat object per row, and a
refusal that names the line (or row) and the field."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.running import trustsvc_process
from trustsvc.errors import InvalidInputError
from trustsvc.licenses.batch import MAX_COLUMNS, MAX_LINE_BYTES, MAX_VALUE_LENGTH, read_rows


def _rows(path: Path, content: bytes) -> list[dict[str, object]]:
    path.write_bytes(content)
    return list(read_rows(path))


def test_a_leading_bom_is_skipped_in_csv_and_jsonl(tmp_path: Path) -> None:
    assert _rows(tmp_path / "a.csv", "\ufeffholder_name,x\n王,1\n".encode()) == [
        {"holder_name": "王", "x": "1"}
    ]
    assert _rows(tmp_path / "a.jsonl", '\ufeff{"holder_name": "王"}\n'.encode()) == [
        {"holder_name": "王"}
    ]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("a.csv", "holder_name\n王\n".encode("gb18030"), "line 2 is not UTF-8"),
        ("a.jsonl", b'{"a": "1"}\n{"a": "\xff"}\n', "line 2 is not UTF-8"),
        ("a.csv", b"a,b\n" + b"x" * (MAX_LINE_BYTES + 1) + b"\n", "line 2 is longer"),
        ("a.jsonl", b'{"a": "' + b"x" * MAX_LINE_BYTES + b'"}\n', "line 1 is longer"),
        ("a.csv", b"a,b,a\n1,2,3\n", "column 'a' appears twice"),
        ("a.csv", b",".join(b"c%d" % n for n in range(MAX_COLUMNS + 1)) + b"\n", "columns"),
        ("a.csv", b"a\n1\x002\n", "NUL"),
    ],
    ids=["gb18030", "jsonl-latin1", "long-csv", "long-jsonl", "dup-header", "wide", "nul"],
)
def test_a_broken_file_is_refused_whole_naming_the_line(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    with pytest.raises(InvalidInputError, match=says):
        _rows(tmp_path / name, content)


def test_bad_rows_are_reported_with_their_line_and_field(tmp_path: Path) -> None:
    lines = [
        '{"holder_name": "a", "holder_name": "b"}',
        '{"holder_name": {"nested": 1}}',
        '{"holder_name": "' + "x" * (MAX_VALUE_LENGTH + 1) + '"}',
        '{"holder_name": "\\ud800"}',
        "[1, 2]",
        '{"holder_name": "王"}',
    ]
    rows = _rows(tmp_path / "a.jsonl", "\n".join(lines).encode())
    errors = [str(r.get("__error__")) for r in rows]
    assert errors[0].startswith("line 1:") and "twice" in errors[0]
    assert errors[1].startswith("line 2:") and "holder_name" in errors[1]
    assert errors[2].startswith("line 3:") and "holder_name" in errors[2]
    assert errors[3].startswith("line 4:") and "surrogate" in errors[3]
    assert errors[4] == "line 5 is not an object"
    assert rows[5] == {"holder_name": "王"}
    csv_rows = _rows(tmp_path / "a.csv", b"a,b\n1,2,3\n4,5\n")
    assert csv_rows == [{"__error__": "line 2: more values than columns"}, {"a": "4", "b": "5"}]


def test_the_cli_refuses_a_broken_file_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "rows.csv"
    broken.write_bytes("holder_name\n王\n".encode("gb18030"))
    data = tmp_path / "data.json"
    data.write_bytes(b'{"holder_name": "a", "holder_name": "b"}')
    env = {"TRUSTSVC_HOME": str(tmp_path / "home"), "TRUSTSVC_KEY_PASSPHRASE": "cli test"}
    assert trustsvc_process(["init"], env).returncode == 0
    for args, says in (
        (["issue-batch", str(broken), "--department", "x", "--type", "y"], "line 2 is not UTF-8"),
        (["issue", "--department", "x", "--type", "y", "--data", str(data)], "given twice"),
    ):
        result = trustsvc_process(args, env)
        assert result.returncode == 65, result.stderr
        assert result.stderr.startswith("trustsvc: error: ")
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=1500), st.sampled_from([".csv", ".jsonl"]))
def test_fuzz_batch_files_give_rows_or_a_refusal(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"rows{suffix}"
        path.write_bytes(content)
        started = time.thread_time()
        try:
            rows = list(read_rows(path))
        except InvalidInputError:
            rows = []
        assert time.thread_time() - started < 0.05
    for row in rows:
        assert isinstance(row, dict)
        assert all(isinstance(key, str) for key in row)

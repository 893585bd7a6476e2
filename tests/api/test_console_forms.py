"""The console's own form parsing: known fields once, bounded, line breaks only where a type
takes several lines."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from trustsvc.api.pages.console.common import checked_token, form_token, read_form
from trustsvc.errors import InvalidInputError

LIMITS = {"name": 10, "scope": 100, "csrf_token": 100}


def _read(fields: dict[str, str] | str) -> dict[str, str]:
    body = fields if isinstance(fields, str) else urlencode(fields)
    return read_form(body.encode(), LIMITS, max_lengths=LIMITS, multiline={"scope"})


def test_a_form_is_read_with_line_breaks_kept_where_allowed() -> None:
    assert _read({"name": "甲公司", "scope": "一、技术\r\n二、软件"}) == {
        "name": "甲公司",
        "scope": "一、技术\r\n二、软件",
    }


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"name": "a\nb"}, "control characters"),
        ({"scope": "a\x00b"}, "control characters"),
        ({"other": "x"}, "unknown form field"),
        ("name=a&name=b", "given twice"),
        ({"name": "x" * 11}, "longer than 10"),
        ("name=%FF", "not UTF-8"),
        ("&".join(f"name{i}=x" for i in range(81)), "at most 80 fields"),
    ],
)
def test_bad_forms_are_refused_saying_why(body: dict[str, str] | str, why: str) -> None:
    with pytest.raises(InvalidInputError, match=why):
        _read(body)
    with pytest.raises(InvalidInputError, match="percent-encoded ASCII"):
        read_form("name=甲".encode(), LIMITS, max_lengths=LIMITS)


def test_form_tokens_are_checked_before_use() -> None:
    token = form_token()
    assert checked_token(token) == token
    for bad in (None, "", "short", token[:-1] + "!", token + "a"):
        with pytest.raises(InvalidInputError, match="form token"):
            checked_token(bad)

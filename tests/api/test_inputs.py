"""Outsiders' text that no route could store or answer with is refused with 422, not 500:
lone surrogates, other encodings, duplicate JSON members, deep nesting, bad forms."""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import CITIZEN_ID, Api
from trustsvc.api.errors import PROBLEM_JSON
from trustsvc.api.inputs import MAX_JSON_DEPTH, parse_form, parse_json
from trustsvc.errors import InvalidInputError
from trustsvc.licenses.batch import MAX_COLUMNS

JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _refused(answer: object, status: int = 422) -> dict[str, object]:
    assert getattr(answer, "status_code", None) == status, getattr(answer, "text", answer)
    assert answer.headers["content-type"] == PROBLEM_JSON  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    return body


def _fresh(api: Api) -> TestClient:
    return TestClient(api.http.app, base_url=str(api.http.base_url))


def test_a_lone_surrogate_in_a_json_sign_in_is_422_and_me_still_works(api: Api) -> None:
    browser = _fresh(api)
    body = b'{"id_type": "111", "id_number": "' + CITIZEN_ID.encode() + b'", "name": "\\ud800"}'
    problem = _refused(browser.post("/auth/dev-sign-in", content=body, headers=JSON))
    assert "surrogate" in str(problem["title"])
    # Nothing was signed in, so nothing unencodable is in a session to break /me.
    assert browser.get("/api/v1/me").status_code == 401
    assert browser.get("/me", follow_redirects=False).status_code in (303, 401)


def test_a_lone_surrogate_in_a_form_is_422(api: Api) -> None:
    browser = _fresh(api)
    form = f"id_type=111&id_number={CITIZEN_ID}&name=%ED%A0%80".encode()
    _refused(browser.post("/auth/dev-sign-in", content=form, headers=FORM))
    assert browser.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "form",
    [b"identifier=a&identifier=b", b"identifier=%01x", b"identifier=" + b"x" * 129],
    ids=["twice", "control", "too-long"],
)
def test_the_presentation_form_is_parsed_strictly(api: Api, form: bytes) -> None:
    holder = api.holder()
    answer = holder.post("/me/present", content=form, headers=FORM, follow_redirects=False)
    # A page's form is answered by a page: the status, and why, in words.
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "无法完成" in answer.text and "form field" in answer.text


def test_sign_in_fields_are_bounded(api: Api) -> None:
    long_name = {"id_number": CITIZEN_ID, "name": "王" * 201}
    _refused(_fresh(api).post("/auth/dev-sign-in", json=long_name))
    bidi = {"id_number": CITIZEN_ID, "name": "王\u202e红"}
    problem = _refused(_fresh(api).post("/auth/dev-sign-in", json=bidi))
    assert "U+202E" in str(problem["title"])


def test_a_surrogate_pair_is_text_and_passes(api: Api) -> None:
    browser = _fresh(api)
    body = b'{"id_number": "' + CITIZEN_ID.encode() + b'", "name": "\\u738b\\ud83d\\ude00"}'
    assert browser.post("/auth/dev-sign-in", content=body, headers=JSON).status_code == 200
    assert browser.get("/api/v1/me").json()["name"] == "王😀"


def test_lone_surrogates_in_api_bodies_are_422(api: Api) -> None:
    headers = {**api.as_("issuer_a"), "Idempotency-Key": "surrogate-0001"}
    body = b'{"type": "business-license", "data": {"holder_name": "\\udc00abc"}}'
    _refused(api.http.post("/api/v1/licenses", content=body, headers={**headers, **JSON}))
    # Without a content type FastAPI parses the JSON itself: the schemas refuse it too.
    _refused(api.http.post("/api/v1/licenses", content=body, headers=headers))


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/lookup?holder_id=%ED%A0%80&purpose=x",
        "/api/v1/lookup?holder_id=%FF&purpose=x",
        "/public/licenses/%ED%A0%80/status",
    ],
    ids=["surrogate-query", "latin1-query", "surrogate-path"],
)
def test_urls_that_do_not_decode_to_utf8_are_422(api: Api, url: str) -> None:
    _refused(api.http.get(url, headers=api.as_("verifier")))


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"name": "a", "name": "b", "role": "admin"}', "twice"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        ('{"name": "某银行"}'.encode("gb18030"), "UTF-8"),
        (b'{"rate_limit_per_minute": NaN}', "NaN"),
        (b"[" * 100_000, "nested"),
        (b'{"a":' * (MAX_JSON_DEPTH + 2) + b"1" + b"}" * (MAX_JSON_DEPTH + 2), "nested"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "not acceptable"),
    ],
    ids=["duplicate", "bom", "gb18030", "nan", "deep-array", "deep-object", "huge-int"],
)
def test_malformed_json_is_refused_quickly_before_any_route(
    api: Api, body: bytes, says: str
) -> None:
    started = time.perf_counter()
    answer = api.http.post("/api/v1/clients", content=body, headers={**api.as_("admin"), **JSON})
    assert time.perf_counter() - started < 2  # wall time, on shared cores: "not minutes"
    problem = _refused(answer)
    assert says in str(problem["title"])


def test_api_rows_are_bounded_and_flat(api: Api) -> None:
    headers = {**api.as_("issuer_a"), "Idempotency-Key": "batch-input-0001"}
    wide = {f"k{n}": "1" for n in range(MAX_COLUMNS + 1)}
    answer = api.http.post(
        "/api/v1/licenses/batch",
        json={"type": "business-license", "rows": [{"holder_name": "王"}, wide]},
        headers=headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["title"].startswith("row 2: has 65 fields")
    nested = api.http.post(
        "/api/v1/licenses",
        json={"type": "business-license", "data": {"holder_name": ["王"]}},
        headers={**headers, "Idempotency-Key": "issue-input-0001"},
    )
    assert nested.status_code == 422
    assert "holder_name" in json.dumps(nested.json()["errors"], ensure_ascii=False)


def test_form_fields_are_bounded_and_clean() -> None:
    assert parse_form(b"name=%E7%8E%8B+%E5%B0%8F%E7%BA%A2&x=") == {"name": "王 小红", "x": ""}
    assert parse_form(b"name=Cafe%CC%81") == {"name": "Café"}
    for bad, says in [
        (b"a=1&a=2", "twice"),
        (b"a=%01", "control"),
        (b"a=%ED%A0%80", "UTF-8"),
        (b"a=" + b"x" * 1001, "longer"),
        ("a=王".encode(), "ASCII"),
        (b"&".join(b"f%d=1" % n for n in range(21)), "at most"),
    ]:
        with pytest.raises(InvalidInputError, match=says):
            parse_form(bad)
    with pytest.raises(InvalidInputError, match="unknown"):
        parse_form(b"other=1", allowed={"name"})


def _bounded(call: Callable[[bytes], object], body: bytes) -> None:
    # CPU time of this thread: what a request costs, whatever else shares the cores. The
    # collector is held off meanwhile: a full collection of the objects earlier tests of
    # this worker left (seen: 0.7 s) is not the parser's work.
    gc.disable()
    try:
        started = time.thread_time()
        with contextlib.suppress(InvalidInputError):
            call(body)
        spent = time.thread_time() - started
    finally:
        gc.enable()
    assert spent < 0.05


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_fuzz_json_bytes_only_ever_refuse(body: bytes) -> None:
    _bounded(parse_json, body)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(_json_values, st.integers(min_value=0, max_value=40))
def test_fuzz_json_values_round_trip_or_refuse(value: object, depth: int) -> None:
    wrapped: object = value
    for _ in range(depth):
        wrapped = [wrapped]
    body = json.dumps(wrapped).encode()
    try:
        assert parse_json(body) == wrapped
    except InvalidInputError as exc:
        assert "nested" in exc.message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_fuzz_forms_only_ever_refuse(body: bytes) -> None:
    _bounded(parse_form, body)

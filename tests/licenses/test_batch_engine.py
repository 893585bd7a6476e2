"""The one batch engine: which rows are issued, what each outcome is, and how it is written.

The command line's report lines and the API's job results are stored and
compared by their users, so their keys and key order are pinned here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from trustsvc.errors import DuplicateLicenseError, InvalidLicenseDataError
from trustsvc.licenses.batch import (
    BatchPlan,
    RowOutcome,
    RowStatus,
    RowToIssue,
    issue_row,
    outcomes,
    row_idempotency_key,
)
from trustsvc.licenses.requests import IssueRequest


@dataclass(frozen=True)
class _View:
    identifier: str
    license_number: str
    sha256: str
    type_key: str


@dataclass(frozen=True)
class _Result:
    license: _View
    created: bool


def _plan(unique_per_holder: bool = True) -> BatchPlan:
    return BatchPlan(
        "91330106MA27U1T07X",
        "business-license",
        unique_per_holder=unique_per_holder,
        key=row_idempotency_key,
        actor="batch",
    )


def _issued(request: IssueRequest, created: bool = True) -> Any:
    holder = str(request.data["holder_id"])
    return _Result(_View(f"id-{holder}", f"no-{holder}", "ab" * 32, "business-license"), created)


def test_a_row_goes_out_as_an_issue_request_with_its_key_and_actor() -> None:
    row: Mapping[str, object] = {"holder_id": "A", "holder_name": "甲", "idempotency_key": " k1 "}
    step = _plan().step(1, row)
    assert isinstance(step, RowToIssue) and step.request is not None
    assert step.request.data == {"holder_id": "A", "holder_name": "甲"}
    assert step.request.idempotency_key == "k1"
    assert step.request.actor == "batch"
    assert (step.request.department_code, step.request.type_key) == (
        "91330106MA27U1T07X",
        "business-license",
    )


def test_a_repeated_row_or_holder_is_answered_at_once_and_never_issued() -> None:
    plan = _plan()
    assert isinstance(plan.step(1, {"holder_id": "A", "x": "1"}), RowToIssue)
    same_holder = plan.step(2, {"holder_id": "a", "x": "2"})
    assert same_holder == RowOutcome(
        2, RowStatus.DUPLICATE, error="repeats row 1", duplicate_of_row=1, code="duplicate-row"
    )
    other_type = _plan(unique_per_holder=False)
    other_type.step(1, {"holder_id": "A", "x": "1"})
    assert isinstance(other_type.step(2, {"holder_id": "A", "x": "2"}), RowToIssue)
    assert isinstance(other_type.step(3, {"holder_id": "A", "x": "1"}), RowOutcome)


def test_rows_done_before_a_take_over_are_remembered() -> None:
    plan = _plan()
    plan.remember(1, {"holder_id": "A"})
    step = plan.step(2, {"holder_id": "A", "idempotency_key": "other"})
    assert isinstance(step, RowOutcome) and step.duplicate_of_row == 1


def test_an_unreadable_row_is_an_error_row() -> None:
    step = _plan().step(4, {"__error__": "line 5 is not an object"})
    assert step == RowToIssue(4, None, error="line 5 is not an object")
    outcome = issue_row(_issued, step)
    assert outcome == RowOutcome(4, RowStatus.ERROR, error="line 5 is not an object")
    assert json.dumps(outcome.report_line()) == (
        '{"row": 4, "status": "error", "error": "line 5 is not an object"}'
    )


def test_every_outcome_of_a_row() -> None:
    def duplicate(_request: IssueRequest) -> Any:
        raise DuplicateLicenseError("holds one already", "ID-1", "NO-1")

    def invalid(_request: IssueRequest) -> Any:
        raise InvalidLicenseDataError({"holder_id": "bad check character"})

    def bug(_request: IssueRequest) -> Any:
        raise KeyError("oops")

    job = _plan().to_issue(3, {"holder_id": "A"})
    assert issue_row(_issued, job) == RowOutcome(
        3, RowStatus.ISSUED, "id-A", "no-A", "ab" * 32, license_type="business-license"
    )
    assert issue_row(lambda r: _issued(r, created=False), job).status is RowStatus.ALREADY_ISSUED
    assert issue_row(duplicate, job) == RowOutcome(
        3, RowStatus.DUPLICATE, "ID-1", "NO-1", error="holds one already", code="duplicate-license"
    )
    assert issue_row(invalid, job) == RowOutcome(
        3,
        RowStatus.ERROR,
        error="invalid license data: holder_id: bad check character",
        code="invalid-license-data",
    )
    assert issue_row(bug, job) == RowOutcome(
        3, RowStatus.ERROR, error="internal error (KeyError)", code="internal-error"
    )


@pytest.mark.parametrize(
    ("outcome", "report_line", "job_result"),
    [
        (
            RowOutcome(1, RowStatus.ISSUED, "I", "N", "S", license_type="t"),
            '{"row": 1, "status": "issued", "identifier": "I", "license_number": "N", '
            '"sha256": "S"}',
            '{"row": 1, "status": "issued", "identifier": "I", "license_number": "N"}',
        ),
        (
            RowOutcome(
                2,
                RowStatus.DUPLICATE,
                error="repeats row 1",
                duplicate_of_row=1,
                code="duplicate-row",
            ),
            '{"row": 2, "status": "duplicate", "error": "repeats row 1", "duplicate_of_row": 1}',
            '{"row": 2, "status": "duplicate", "code": "duplicate-row", "duplicate_of_row": 1, '
            '"error": "repeats row 1"}',
        ),
        (
            RowOutcome(
                3, RowStatus.DUPLICATE, "I", "N", error="holds one", code="duplicate-license"
            ),
            '{"row": 3, "status": "duplicate", "identifier": "I", "license_number": "N", '
            '"error": "holds one"}',
            '{"row": 3, "status": "duplicate", "code": "duplicate-license", "identifier": "I", '
            '"license_number": "N", "error": "holds one"}',
        ),
        (
            RowOutcome(4, RowStatus.ERROR, error="bad", code="invalid-input"),
            '{"row": 4, "status": "error", "error": "bad"}',
            '{"row": 4, "status": "error", "code": "invalid-input", "error": "bad"}',
        ),
    ],
)
def test_the_report_line_and_the_job_result_keep_their_keys_and_order(
    outcome: RowOutcome, report_line: str, job_result: str
) -> None:
    assert json.dumps(outcome.report_line(), ensure_ascii=False) == report_line
    assert json.dumps(outcome.job_result(), ensure_ascii=False) == job_result


def test_outcomes_come_in_row_order_and_stop_when_asked() -> None:
    rows = [(1, {"holder_id": "A"}), (2, {"holder_id": "A"}), (3, {"holder_id": "B"})]
    every = list(outcomes(_plan(), rows, _issued))
    assert [(o.row, o.status) for o in every] == [
        (1, RowStatus.ISSUED),
        (2, RowStatus.DUPLICATE),
        (3, RowStatus.ISSUED),
    ]
    asked: list[int] = []

    def stopped() -> bool:
        asked.append(1)
        return len(asked) > 1

    assert [o.row for o in outcomes(_plan(), rows, _issued, stopped)] == [1]

"""A revoked seal stops sealing at once: on every process, even with a warm sealer.

The issuing transaction reads the seal certificate's row again (under a share
lock on PostgreSQL, after its first write on SQLite), so a revocation that
commits while a license is being sealed is never recorded with that seal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import func, select, update

from tests.helpers import DEPARTMENT_A, current_seal, enterprise_holder
from trustsvc.bootstrap import open_services
from trustsvc.clock import FixedClock
from trustsvc.db.models import CertificateRecord, CertificateRole, Department, LicenseRecord
from trustsvc.departments.seals import new_seal, revoke_seal
from trustsvc.errors import SealUnavailableError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.jobs import JobRunner, get_job, submit_job
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.sharing.clients import add_client


def _request(licenses: IssuingService, name: str) -> IssueRequest:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    # A holder of its own per request: a holder may hold only one business license.
    data.update(enterprise_holder())
    return IssueRequest(DEPARTMENT_A, "business-license", {**data, "holder_name": name})


def _licenses(services: Services) -> list[tuple[str, str]]:
    with services.database.begin() as session:
        return [
            (r.identifier, r.seal_serial_hex)
            for r in session.scalars(select(LicenseRecord).order_by(LicenseRecord.id))
        ]


def _documents(services: Services) -> list[Path]:
    return sorted((services.settings.home / "documents").rglob("*.pdf"))


def _signing_serial(pdf: bytes) -> int:
    from io import BytesIO

    signature = PdfFileReader(BytesIO(pdf)).embedded_signatures[0]
    serial: int = signature.signer_cert.serial_number
    return serial


@pytest.fixture
def other(services: Services, licenses: IssuingService, clock: FixedClock) -> Iterator[Services]:
    """Another process's services on the same home and database (say, the operator's CLI)."""
    opened = open_services(services.settings, clock)
    try:
        yield opened
    finally:
        opened.close()


def _revoke_during_sealing(
    licenses: IssuingService, monkeypatch: pytest.MonkeyPatch, revoke: Any
) -> list[int]:
    """Make the next sealing run ``revoke`` once, just after the document is sealed."""
    seal = licenses.producer.sealer.seal
    calls: list[int] = []

    def sealing_then_revoked(*args: Any, **kwargs: Any) -> Any:
        sealed = seal(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            revoke()
        return sealed

    monkeypatch.setattr(licenses.producer.sealer, "seal", sealing_then_revoked)
    return calls


def test_a_warm_sealer_refuses_a_seal_revoked_elsewhere(
    services: Services, licenses: IssuingService, other: Services
) -> None:
    first = licenses.issue(_request(licenses, "杭州第一科技有限公司")).license
    revoke_seal(other, DEPARTMENT_A, "key_compromise")
    with pytest.raises(SealUnavailableError, match="no usable seal"):
        licenses.issue(_request(licenses, "杭州第二科技有限公司"))
    assert [identifier for identifier, _ in _licenses(services)] == [first.identifier]


def test_a_revocation_committed_while_sealing_is_not_recorded_with_that_seal(
    services: Services, licenses: IssuingService, other: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    licenses.issue(_request(licenses, "杭州第一科技有限公司"))  # the sealer is warm
    calls = _revoke_during_sealing(
        licenses, monkeypatch, lambda: revoke_seal(other, DEPARTMENT_A, "key_compromise")
    )
    with pytest.raises(SealUnavailableError, match="no usable seal"):
        licenses.issue(_request(licenses, "杭州第二科技有限公司"))
    assert len(calls) == 1
    assert len(_licenses(services)) == 1
    # The document sealed with the revoked seal is not kept either.
    assert len(_documents(services)) == 1


def test_a_seal_replaced_while_sealing_seals_again_with_the_new_seal(
    services: Services, licenses: IssuingService, other: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    licenses.issue(_request(licenses, "杭州第一科技有限公司"))
    revoked = current_seal(other, DEPARTMENT_A)

    def replace() -> None:
        revoke_seal(other, DEPARTMENT_A, "superseded")
        new_seal(other, DEPARTMENT_A)

    calls = _revoke_during_sealing(licenses, monkeypatch, replace)
    view = licenses.issue(_request(licenses, "杭州第二科技有限公司")).license
    replacement = current_seal(other, DEPARTMENT_A)
    assert len(calls) == 2  # sealed again
    assert replacement.serial_number != revoked.serial_number
    assert _licenses(services)[-1] == (view.identifier, f"{replacement.serial_number:x}")
    assert _signing_serial(licenses.document(view.identifier)) == replacement.serial_number
    assert len(_documents(services)) == 2


def test_a_revocation_being_written_holds_the_license_back_and_wins(
    services: Services, licenses: IssuingService, other: Services
) -> None:
    """The revocation's transaction is open (its row written, not committed) while a
    license is sealed and recorded: the license waits for it, then is refused."""
    licenses.issue(_request(licenses, "杭州第一科技有限公司"))
    outcome: list[object] = []
    with other.database.begin() as session:
        department_id = session.scalar(select(Department.id).where(Department.code == DEPARTMENT_A))
        session.execute(
            update(CertificateRecord)
            .where(
                CertificateRecord.department_id == department_id,
                CertificateRecord.role == CertificateRole.SEAL,
            )
            .values(revoked_at=other.clock.now(), revocation_reason="key_compromise")
        )

        def issue() -> None:
            try:
                outcome.append(licenses.issue(_request(licenses, "杭州第二科技有限公司")))
            except SealUnavailableError as exc:
                outcome.append(exc)

        worker = threading.Thread(target=issue)
        worker.start()
        time.sleep(1.0)  # the license is sealed meanwhile, and waits to be recorded
        assert outcome == []
    worker.join(timeout=20)
    assert len(outcome) == 1 and isinstance(outcome[0], SealUnavailableError)
    with services.database.begin() as session:
        assert session.scalar(select(func.count()).select_from(LicenseRecord)) == 1


def test_a_batch_job_stops_sealing_once_the_seal_is_revoked(
    services: Services, licenses: IssuingService, other: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    rows = [
        {**data, **enterprise_holder(), "holder_name": f"杭州第{i}科技有限公司"} for i in range(3)
    ]
    licenses.issue(_request(licenses, "杭州预热科技有限公司"))
    calls = _revoke_during_sealing(
        licenses, monkeypatch, lambda: revoke_seal(other, DEPARTMENT_A, "key_compromise")
    )
    client, _ = add_client(services, "issuer-a", "issuer", department_code=DEPARTMENT_A)
    job, _ = submit_job(
        services.database,
        services.clock,
        licenses.data_key,
        licenses.types,
        client.client.id,
        DEPARTMENT_A,
        "business-license",
        rows,
        "j-1",
    )
    JobRunner(licenses, services.database, services.clock, licenses.data_key)._run(job.id)
    view = get_job(services.database, job.id, DEPARTMENT_A)
    assert len(calls) == 1
    assert [r["code"] for r in view.results] == ["seal-unavailable"] * 3
    assert len(_licenses(services)) == 1
    revoked = x509.load_der_x509_certificate(_seal_der(other))
    assert all(serial != f"{revoked.serial_number:x}" for _, serial in _licenses(services)[1:])


def _seal_der(services: Services) -> bytes:
    with services.database.begin() as session:
        der = session.scalar(
            select(CertificateRecord.der).where(CertificateRecord.role == CertificateRole.SEAL)
        )
    assert der is not None
    return der


def test_a_seal_revoked_before_a_cold_sealer_prepares_it_is_a_clear_refusal(
    services: Services, licenses: IssuingService, other: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare = licenses.producer.sealer._prepare

    def revoked_first(material: Any) -> Any:
        revoke_seal(other, DEPARTMENT_A, "key_compromise")
        return prepare(material)

    monkeypatch.setattr(licenses.producer.sealer, "_prepare", revoked_first)
    with pytest.raises(SealUnavailableError, match="no usable seal"):
        licenses.issue(_request(licenses, "杭州第一科技有限公司"))
    assert _licenses(services) == [] and _documents(services) == []

"""What each administrator may do: the operator administrator everything, a department
administrator their own department's seals and staff only, an auditor read the operator
record; every change recorded with the member of staff as the operator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, add_purposes, credit_code
from trustsvc.audit.operators import operator_events
from trustsvc.errors import CommandLineOnlyError, ForbiddenError, InvalidInputError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.services import Services
from trustsvc.staff import administration as admin
from trustsvc.staff.administration import Acting
from trustsvc.staff.users import StaffRole, add_user


def _acting(services: Services, role: StaffRole, subject: str, code: str | None = None) -> Acting:
    return Acting(add_user(services, subject, "某人", role, department_code=code), "192.0.2.7")


def test_the_operator_administrator_keeps_everything_and_is_recorded(
    services: Services,
    licenses: IssuingService,
) -> None:
    services = services
    operator = _acting(services, StaffRole.OPERATOR_ADMIN, "op-1")
    code = credit_code("11330100MB0000003")
    admin.register_department(services, operator, "温州市市场监督管理局", code, "330300", None)
    info = admin.renew_seal(services, operator, code)
    serial = info.seals[-1].serial_hex
    admin.withdraw_seal(services, operator, code, serial, "superseded")
    assert {d.code for d in admin.departments(services, operator)} == {
        DEPARTMENT_A,
        DEPARTMENT_B,
        code,
    }
    add_purposes(services, "贷款审查")
    _, key = admin.make_client(
        services,
        operator,
        "某银行",
        "verifier",
        department_code=None,
        purposes=["贷款审查"],
        rate_limit_per_minute=None,
    )
    assert key.secret.startswith("tsk_")
    _, rotated = admin.rotate_api_key(services, operator, "某银行", timedelta(hours=1))
    assert rotated.key_id != key.key_id
    admin.revoke_api_client(services, operator, "某银行")
    recorded = [
        (e.action, e.target) for e in reversed(operator_events(services, actor="staff:op-1"))
    ]
    assert recorded == [
        ("department_add", code),
        ("seal_issue", code),
        ("seal_revoke", code),
        ("client_add", "某银行"),
        ("client_rotate", "某银行"),
        ("client_revoke", "某银行"),
    ]
    assert {e.origin for e in operator_events(services, actor="staff:op-1")} == {"page:192.0.2.7"}
    assert [e.action for e in admin.record(services, operator)][:1] == ["client_revoke"]


def test_what_the_admin_api_keeps_to_the_command_line_stays_there(
    services: Services,
    licenses: IssuingService,
) -> None:
    services = services
    operator = _acting(services, StaffRole.OPERATOR_ADMIN, "op-1")
    with pytest.raises(CommandLineOnlyError):
        admin.make_client(
            services,
            operator,
            "另一个管理端",
            "admin",
            department_code=None,
            purposes=[],
            rate_limit_per_minute=None,
        )
    with pytest.raises(InvalidInputError, match="kept for staff"):
        admin.make_client(
            services,
            operator,
            "staff:someone",
            "issuer",
            department_code=DEPARTMENT_A,
            purposes=[],
            rate_limit_per_minute=None,
        )
    # The keyless clients staff act through are not API clients to list, rotate or revoke:
    # a rotated key would make a page-only client usable over the API.
    _acting(services, StaffRole.OFFICER, "officer-a", DEPARTMENT_A)
    assert [c.client.name for c in admin.clients(services, operator)] == []
    with pytest.raises(ForbiddenError, match="member of staff"):
        admin.rotate_api_key(services, operator, "staff:officer-a", timedelta(0))
    with pytest.raises(ForbiddenError, match="member of staff"):
        admin.revoke_api_client(services, operator, "staff:officer-a")
    with pytest.raises(InvalidInputError, match="unknown reason"):
        admin.withdraw_seal(services, operator, DEPARTMENT_A, "01", "ca_compromise")


def test_a_department_administrator_keeps_their_own_department_only(
    services: Services,
    licenses: IssuingService,
) -> None:
    services = services
    mine = _acting(services, StaffRole.DEPARTMENT_ADMIN, "dadmin-a", DEPARTMENT_A)
    other = _acting(services, StaffRole.OFFICER, "officer-b", DEPARTMENT_B)
    assert [d.code for d in admin.departments(services, mine)] == [DEPARTMENT_A]
    with pytest.raises(ForbiddenError):
        admin.department(services, mine, DEPARTMENT_B)
    with pytest.raises(ForbiddenError):
        admin.renew_seal(services, mine, DEPARTMENT_B)
    with pytest.raises(ForbiddenError):
        admin.register_department(
            services, mine, "某某局", credit_code("11330100MB0000004"), None, None
        )
    admin.renew_seal(services, mine, DEPARTMENT_A)
    # A compromised key, unfit since a moment: what it sealed before stays valid.
    newest = max(admin.department(services, mine, DEPARTMENT_A).seals, key=lambda s: s.serial_hex)
    since = services.clock.now()
    [revoked] = admin.withdraw_seal(
        services, mine, DEPARTMENT_A, newest.serial_hex, "key_compromise", since
    )
    assert revoked.invalidity_date == since
    # An officer they add is of their department, whichever department the form named.
    added = admin.add_staff(
        services,
        mine,
        "officer-a2",
        "新经办",
        "officer",
        department_code=DEPARTMENT_B,
        hall=None,
        window=None,
        purposes=[],
    )
    assert added.department_code == DEPARTMENT_A
    with pytest.raises(ForbiddenError):
        admin.add_staff(
            services,
            mine,
            "auditor-x",
            "审计",
            "auditor",
            department_code=None,
            hall=None,
            window=None,
            purposes=[],
        )
    assert {m.subject for m in admin.staff(services, mine)} == {"dadmin-a", "officer-a2"}
    with pytest.raises(ForbiddenError):
        admin.disable_staff(services, mine, other.member.subject)
    with pytest.raises(ForbiddenError, match="your own account"):
        admin.disable_staff(services, mine, "dadmin-a")
    assert admin.disable_staff(services, mine, "officer-a2").disabled_at is not None
    for call in (admin.clients, admin.purposes, admin.record, admin.access_record):
        with pytest.raises(ForbiddenError):
            call(services, mine)
    assert [e.actor for e in operator_events(services, limit=2)] == ["staff:dadmin-a"] * 2


def test_an_auditor_reads_the_record_and_changes_nothing(
    services: Services, licenses: IssuingService
) -> None:
    services = services
    auditor = _acting(services, StaffRole.AUDITOR, "auditor-1")
    assert [e.action for e in admin.record(services, auditor)][:1] == ["user_add"]
    assert admin.access_record(services, auditor) == []
    with pytest.raises(InvalidInputError):
        admin.access_record(services, auditor, page=admin.MAX_PAGES + 1)
    with pytest.raises(ForbiddenError):
        admin.departments(services, auditor)
    with pytest.raises(ForbiddenError):
        admin.renew_seal(services, auditor, DEPARTMENT_A)
    with pytest.raises(ForbiddenError):
        admin.staff(services, auditor)

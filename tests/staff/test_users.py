"""Staff users: each role's rules, the API client a user acts through (with no key), the
operator record, disabling, and the ``trustsvc user`` commands."""

from __future__ import annotations

import json

import pytest

from tests.cli.running import invoke
from tests.helpers import DEPARTMENT_A, add_purposes
from trustsvc.audit.operators import operator_events
from trustsvc.db.models import ApiKey, ClientRole
from trustsvc.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.services import Services
from trustsvc.staff.users import (
    UNKNOWN_STAFF,
    StaffRole,
    add_user,
    disable_user,
    find_user,
    list_users,
    staff_client_names,
)


def test_each_role_acts_under_its_api_role(services: Services, licenses: IssuingService) -> None:
    add_purposes(services, "办理营业执照变更")
    clerk = add_user(
        services,
        "c1",
        "张窗口",
        StaffRole.CLERK,
        hall="市民中心",
        window="3号窗口",
        purposes=("办理营业执照变更",),
    )
    officer = add_user(services, "o1", "李经办", "officer", department_code=DEPARTMENT_A)
    admin = add_user(services, "a1", "王运营", StaffRole.OPERATOR_ADMIN)
    auditor = add_user(services, "u1", "赵审计", StaffRole.AUDITOR)
    assert clerk.client is not None and clerk.client.role is ClientRole.VERIFIER
    assert clerk.client.purposes == ("办理营业执照变更",) == clerk.purposes
    assert clerk.place == "市民中心 · 3号窗口"
    assert officer.client is not None and officer.client.role is ClientRole.ISSUER
    assert officer.client.department_code == DEPARTMENT_A == officer.department_code
    assert admin.client is not None and admin.client.role is ClientRole.ADMIN
    assert auditor.client is None
    with services.database.begin() as session:
        assert session.query(ApiKey).count() == 0  # no key: these clients work only behind pages
    assert [m.subject for m in list_users(services)] == ["c1", "o1", "a1", "u1"]
    assert [m.subject for m in list_users(services, DEPARTMENT_A)] == ["o1"]
    actions = [e.action for e in operator_events(services)]
    assert actions.count("user_add") == 4


@pytest.mark.parametrize(
    ("role", "options", "message"),
    [
        (StaffRole.OFFICER, {}, "belongs to one department"),
        (StaffRole.DEPARTMENT_ADMIN, {}, "belongs to one department"),
        (StaffRole.CLERK, {"purposes": ("核查",)}, "works at a window"),
        (StaffRole.CLERK, {"window": "1号窗口"}, "at least one purpose"),
        (StaffRole.CLERK, {"window": "1号窗口", "purposes": ("未登记",)}, "not in the catalogue"),
        (StaffRole.AUDITOR, {"window": "1号窗口"}, "only clerks"),
    ],
)
def test_each_role_s_rules_are_checked(
    services: Services, role: StaffRole, options: dict[str, object], message: str
) -> None:
    add_purposes(services, "核查")
    with pytest.raises(InvalidInputError, match=message):
        add_user(services, "s1", "某人", role, **options)  # type: ignore[arg-type]


def test_subjects_are_unique_and_unknown_departments_refused(
    services: Services, licenses: IssuingService
) -> None:
    add_user(services, "same", "甲", StaffRole.AUDITOR)
    with pytest.raises(ConflictError):
        add_user(services, "same", "乙", StaffRole.AUDITOR)
    with pytest.raises(NotFoundError):
        add_user(services, "x", "丙", StaffRole.OFFICER, department_code="91330100MA00000000")
    with pytest.raises(InvalidInputError, match="no spaces"):
        add_user(services, "a b", "丁", StaffRole.AUDITOR)


def test_a_disabled_user_is_refused_and_their_client_revoked(
    services: Services, licenses: IssuingService
) -> None:
    add_user(services, "o2", "李经办", StaffRole.OFFICER, department_code=DEPARTMENT_A)
    assert find_user(services, "o2").active
    disabled = disable_user(services, "o2")
    assert not disabled.active
    with pytest.raises(AuthenticationError):
        find_user(services, "o2")
    with pytest.raises(AuthenticationError):
        find_user(services, "nobody")
    with services.database.begin() as session:
        from trustsvc.db.models import StaffUser

        row = session.query(StaffUser).filter_by(subject="o2").one()
        assert row.client is not None and row.client.revoked_at is not None


def test_the_user_commands(services: Services, licenses: IssuingService) -> None:
    settings = services.settings
    code, out, _ = invoke(
        settings,
        "user",
        "add",
        "officer-9",
        "--name",
        "钱经办",
        "--role",
        "officer",
        "--department",
        DEPARTMENT_A,
    )
    assert code == 0 and "officer-9" in out
    code, out, _ = invoke(settings, "user", "list")
    listed = json.loads(out)
    assert [u["subject"] for u in listed] == ["officer-9"]
    assert listed[0]["role"] == "officer"
    code, out, _ = invoke(settings, "user", "disable", "officer-9")
    assert code == 0 and "disabled" in out


def test_staff_clients_are_named_by_window_or_department_never_by_subject(
    services: Services, licenses: IssuingService
) -> None:
    add_purposes(services, "办理营业执照变更")
    add_user(
        services,
        "oidc-31f9",
        "张窗口",
        StaffRole.CLERK,
        hall="市民中心",
        window="3号窗口",
        purposes=("办理营业执照变更",),
    )
    add_user(services, "oidc-77aa", "李经办", "officer", department_code=DEPARTMENT_A)
    named = staff_client_names(
        services, ["staff:oidc-31f9", "staff:oidc-77aa", "staff:gone", "某银行", "staff:oidc-31f9"]
    )
    assert named == {
        "staff:oidc-31f9": "市民中心 · 3号窗口",
        "staff:oidc-77aa": "杭州市市场监督管理局",
        "staff:gone": UNKNOWN_STAFF,
    }
    assert staff_client_names(services, ["某银行"]) == {}

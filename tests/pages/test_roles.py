"""The role matrix: every staff page refuses the roles it is not for, and sends a visitor
who is not signed in to the staff sign-in.

``PAGES`` is the one table of (path, method, roles allowed): each area adds its rows.
A refused role gets 403 (for a form too, with a valid CSRF token: the role is checked
before anything is read); an allowed role gets anything but 403, a 5xx or the sign-in.
The forms of the table are sent such that an allowed role is mostly refused for what
they hold (422, 404), not for who sent them; a new seal for department A is issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A
from tests.pages.conftest import add_staff, sign_in_staff
from trustsvc.services import Services
from trustsvc.staff.users import StaffRole

pytestmark = pytest.mark.browser

R = StaffRole
ADMINISTRATORS = frozenset({R.OPERATOR_ADMIN, R.DEPARTMENT_ADMIN})
OPERATOR = frozenset({R.OPERATOR_ADMIN})


@dataclass(frozen=True)
class StaffPage:
    """A staff page (or form) and the roles it is for."""

    path: str
    allowed: frozenset[StaffRole]
    method: str = "GET"
    #: The form a POST sends (with the session's CSRF token added).
    form: Mapping[str, str] = field(default_factory=dict)


PAGES: tuple[StaffPage, ...] = (
    # Statistics (officers for their department, auditors and the operator for all).
    StaffPage("/stats", frozenset({R.OFFICER, R.AUDITOR, R.OPERATOR_ADMIN})),
    # Administration.
    StaffPage("/admin", ADMINISTRATORS),
    StaffPage(f"/admin/department?code={DEPARTMENT_A}", ADMINISTRATORS),
    StaffPage(f"/admin/seals/revoke?code={DEPARTMENT_A}&serial=00", ADMINISTRATORS),
    StaffPage("/admin/staff", ADMINISTRATORS),
    StaffPage("/admin/staff/disable?subject=nobody", ADMINISTRATORS),
    StaffPage("/admin/clients", OPERATOR),
    StaffPage("/admin/clients/revoke?name=nobody", OPERATOR),
    StaffPage("/admin/clients/rotate?name=nobody", OPERATOR),
    StaffPage("/admin/purposes", OPERATOR),
    StaffPage("/admin/purposes/remove?name=nobody", OPERATOR),
    StaffPage("/admin/record", frozenset({R.OPERATOR_ADMIN, R.AUDITOR})),
    StaffPage("/admin/access", frozenset({R.OPERATOR_ADMIN, R.AUDITOR})),
    StaffPage("/admin/departments", OPERATOR, "POST", {"name": "", "code": ""}),
    StaffPage("/admin/seals/new", ADMINISTRATORS, "POST", {"code": DEPARTMENT_A}),
    StaffPage("/admin/seals/revoke", ADMINISTRATORS, "POST", {"code": DEPARTMENT_A}),
    StaffPage("/admin/staff", ADMINISTRATORS, "POST", {"subject": "", "role": "officer"}),
    StaffPage("/admin/staff/disable", ADMINISTRATORS, "POST", {"subject": "nobody"}),
    StaffPage("/admin/clients", OPERATOR, "POST", {"name": ""}),
    StaffPage("/admin/clients/revoke", OPERATOR, "POST", {"name": "nobody"}),
    StaffPage("/admin/clients/rotate", OPERATOR, "POST", {"name": "nobody"}),
    StaffPage("/admin/purposes", OPERATOR, "POST", {"name": ""}),
    StaffPage("/admin/purposes/remove", OPERATOR, "POST", {"name": "nobody"}),
    StaffPage("/admin/seals/import", ADMINISTRATORS, "POST", {"code": DEPARTMENT_A}),
    StaffPage("/admin/departments/kind", OPERATOR, "POST", {"code": DEPARTMENT_A, "kind": "x"}),
    StaffPage(f"/admin/types?code={DEPARTMENT_A}&type=nonesuch&decision=deny", OPERATOR),
    StaffPage("/admin/types", OPERATOR, "POST", {"code": DEPARTMENT_A, "type": "nonesuch"}),
)

#: One member of staff of each role (subject, department).
MEMBERS = {
    R.CLERK: ("clerk-1", None),
    R.OFFICER: ("officer-a", DEPARTMENT_A),
    R.DEPARTMENT_ADMIN: ("dadmin-a", DEPARTMENT_A),
    R.AUDITOR: ("auditor-1", None),
    R.OPERATOR_ADMIN: ("op-1", None),
}


def test_the_table_names_every_role_and_each_page_once() -> None:
    assert set(MEMBERS) == set(StaffRole)
    keys = [(p.method, p.path) for p in PAGES]
    assert len(keys) == len(set(keys))
    assert all(p.allowed and p.allowed <= set(StaffRole) for p in PAGES)


def test_every_staff_page_refuses_the_roles_it_is_not_for(
    services: Services, live_pages: LiveServer, chromium: Browser
) -> None:
    base = live_pages.base_url
    for role, (subject, department) in MEMBERS.items():
        add_staff(services, role, subject, department_code=department)
    wrong: list[str] = []
    for role, (subject, _) in [(None, ("", None)), *MEMBERS.items()]:
        context = chromium.new_context()
        try:
            page = context.new_page()
            token = ""
            if role is not None:
                sign_in_staff(page, base, subject, "/staff")
                token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
            for staff_page in PAGES:
                url = f"{base}{staff_page.path}"
                if staff_page.method == "POST":
                    answer = page.request.post(
                        url, form={**staff_page.form, "csrf_token": token}, max_redirects=0
                    )
                else:
                    answer = page.request.get(url, max_redirects=0)
                signed_out = answer.status == 303 and "/staff/sign-in" in answer.headers.get(
                    "location", ""
                )
                name = role.value if role else "visitor"
                where = f"{staff_page.method} {staff_page.path} as {name}: {answer.status}"
                if role is None:
                    if not signed_out:
                        wrong.append(f"{where} (not sent to the sign-in)")
                elif role in staff_page.allowed:
                    if answer.status == 403 or signed_out or answer.status >= 500:
                        wrong.append(f"{where} (refused a role it is for)")
                elif answer.status != 403:
                    wrong.append(f"{where} (not refused)")
        finally:
            context.close()
    assert wrong == []

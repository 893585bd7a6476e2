"""Issuing departments (颁发机构): registered by their unified social credit code, with a
name the documents' font can draw, a GB/T 2260 region and a kind; each gets its first
seal as it is registered (``departments.seals`` holds the seals).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.codes.identifiers import validate_credit_code
from trustsvc.db.models import Department
from trustsvc.departments.info import DepartmentInfo, find_department
from trustsvc.departments.kinds import kind_from_name, parse_kind
from trustsvc.departments.seals import issue_seal
from trustsvc.documents.fonts import char_widths, find_cjk_font, load_cjk_font
from trustsvc.errors import (
    DuplicateDepartmentError,
    InvalidInputError,
    UnsupportedCharacterError,
)
from trustsvc.services import Services
from trustsvc.text import clean_name

#: GB/T 2260 province-level prefixes (first two digits of a region code).
_PROVINCE_PREFIXES = frozenset(
    {f"{n}" for n in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37)}
    | {f"{n}" for n in (41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65)}
    | {"71", "81", "82"}
)


def validate_region_code(region_code: str) -> str:
    code = region_code.strip()
    if len(code) != 6 or not code.isdigit() or code[:2] not in _PROVINCE_PREFIXES:
        raise InvalidInputError(
            f"region code {region_code!r} is not a 6-digit GB/T 2260 administrative division code"
        )
    return code


def _validate_name(name: str) -> str:
    return clean_name(name, "department name", 200, collapse=True)


def _check_drawable(services: Services, name: str) -> None:
    """Refuse a name the CJK font cannot draw now, rather than at the first issuance.

    The name is typeset on every license and in the seal's stamp; the font is
    read once per process, later checks are lookups in its character map.
    """
    try:
        char_widths(load_cjk_font(find_cjk_font(services.settings.cjk_font)), name)
    except UnsupportedCharacterError as exc:
        raise UnsupportedCharacterError(
            f"department name {name!r} cannot be typeset: {exc.message}"
        ) from exc


def add_department(
    services: Services,
    name: str,
    code: str,
    region_code: str | None = None,
    with_seal: bool = True,
    operator: Operator | None = None,
    kind: str | None = None,
) -> DepartmentInfo:
    """Register a department and, unless told otherwise, issue its seal certificate.

    ``kind`` (a ``DepartmentKind`` slug or Chinese name) decides which license
    types it may issue; when not given it is the kind the official name states
    (…市场监督管理局), or none.
    """
    code = validate_credit_code(code)
    name = _validate_name(name)
    region = validate_region_code(region_code) if region_code else None
    department_kind = parse_kind(kind) if kind else kind_from_name(name)
    _check_drawable(services, name)
    with services.database.begin() as session:
        if session.scalar(select(Department.id).where(Department.code == code)) is not None:
            raise DuplicateDepartmentError(f"department {code} is registered already")
        _refuse_taken_name(session, name)
    key_id = None
    try:
        with services.database.begin() as session:
            now = services.clock.now()
            department = Department(
                code=code,
                name=name,
                region_code=region,
                created_at=now,
                kind=department_kind.value if department_kind else None,
            )
            session.add(department)
            session.flush()
            if with_seal:
                key_id = issue_seal(services, session, department)
            session.flush()
            session.refresh(department)
            info = DepartmentInfo.of(department)
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.DEPARTMENT_ADD,
                code,
                now,
                {
                    "name": name,
                    "region_code": region,
                    "kind": department_kind.value if department_kind else None,
                    "kind_from_name": kind is None and department_kind is not None,
                    "seal_serial": info.seals[0].serial_hex if info.seals else None,
                },
            )
            return info
    except IntegrityError as exc:
        with services.database.begin() as session:
            _refuse_taken_name(session, name)
        raise DuplicateDepartmentError(f"department {code} is registered already") from exc
    except BaseException:
        # The transaction rolled back; so must the key file it had created.
        if key_id is not None:
            services.seal_keys.delete(key_id)
        raise


def _refuse_taken_name(session: Session, name: str) -> None:
    taken = session.scalar(select(Department.code).where(Department.name == name))
    if taken is not None:
        raise DuplicateDepartmentError(
            f"a department named {name!r} is registered already (credit code {taken})"
        )


def set_kind(
    services: Services, code: str, kind: str | None, operator: Operator | None = None
) -> DepartmentInfo:
    """Set (or, with None, clear) a department's kind; licenses already sealed are unaffected."""
    code = validate_credit_code(code)
    department_kind = parse_kind(kind) if kind else None
    with services.database.begin() as session:
        department = find_department(session, code)
        previous = department.kind
        department.kind = department_kind.value if department_kind else None
        record_operation(
            session,
            operator or Operator.local(),
            OperatorAction.DEPARTMENT_KIND,
            code,
            services.clock.now(),
            {"from": previous, "to": department.kind},
        )
        session.flush()
        return DepartmentInfo.of(department)


def list_departments(services: Services) -> list[DepartmentInfo]:
    with services.database.begin() as session:
        departments = session.scalars(select(Department).order_by(Department.code)).all()
        return [DepartmentInfo.of(d) for d in departments]


def get_department(services: Services, code: str) -> DepartmentInfo:
    code = validate_credit_code(code)
    with services.database.begin() as session:
        return DepartmentInfo.of(find_department(session, code))

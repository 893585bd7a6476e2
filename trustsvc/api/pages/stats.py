"""The statistics page (/stats): licenses issued, verifications by verdict, lookups by purpose.

Officers see their own department's figures; auditors and the operator
administrator see the whole service, or one department they choose. Each
chart is drawn on the server (``pages.charts``) and its numbers stand in a
table beside it. The figures come from ``audit.statistics``, counted by the
database over a bounded period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from trustsvc.api.deps import state_of
from trustsvc.api.pages.access import staff_with
from trustsvc.api.pages.charts import Series, horizontal_bars, stacked_columns
from trustsvc.api.pages.rendering import PageRoute, language, render
from trustsvc.audit.statistics import (
    IssuedTable,
    LookupCount,
    Scope,
    VerdictCount,
    issued_by_type_and_month,
    last_months,
    lookups_by_purpose_and_client,
    verifications_by_verdict,
)
from trustsvc.departments.info import DepartmentInfo
from trustsvc.departments.registry import list_departments
from trustsvc.errors import ForbiddenError
from trustsvc.licenses.entitlement import packaged_types
from trustsvc.staff.users import StaffMember, StaffRole
from trustsvc.verification.report import VERDICT_TEXT, Verdict

router = APIRouter(include_in_schema=False, route_class=PageRoute)

#: Who may open the page; officers see only their own department.
STATS_ROLES = (StaffRole.OFFICER, StaffRole.AUDITOR, StaffRole.OPERATOR_ADMIN)
#: The periods offered, in months.
PERIODS = (3, 6, 12, 24)
_DEFAULT_PERIOD = 12
_QUERY_LIMIT = 40

StatsStaff = Annotated[StaffMember, Depends(staff_with(*STATS_ROLES))]


@dataclass(frozen=True)
class _Choice:
    """What the visitor asked for, checked: a period and a scope."""

    months: int
    department: DepartmentInfo | None
    error: tuple[str, str] | None


def _verdict_name(verdict: str, lang: str) -> str:
    try:
        zh, en = VERDICT_TEXT[Verdict(verdict)]
    except ValueError:
        return verdict
    return en if lang == "en" else zh


def _type_name(type_key: str, lang: str) -> str:
    license_type = packaged_types().get(type_key)
    if license_type is None:
        return type_key
    return license_type.name_en if lang == "en" else license_type.name_zh


def _choice(request: Request, member: StaffMember, departments: list[DepartmentInfo]) -> _Choice:
    """The period and department asked for; a bad value is named and the default used."""
    error: tuple[str, str] | None = None
    raw_months = request.query_params.get("months", "")[:_QUERY_LIMIT]
    months = _DEFAULT_PERIOD
    if raw_months:
        if raw_months.isdigit() and int(raw_months) in PERIODS:
            months = int(raw_months)
        else:
            error = ("统计期间只能选 3、6、12 或 24 个月。", "The period is 3, 6, 12 or 24 months.")
    by_code = {d.code: d for d in departments}
    if member.role is StaffRole.OFFICER:
        # An officer's figures are their department's, whatever the address asks.
        return _Choice(months, by_code.get(member.department_code or ""), error)
    code = request.query_params.get("department", "")[:_QUERY_LIMIT].strip().upper()
    if code and code not in by_code:
        error = ("没有这个颁发机构。", "There is no such department.")
    return _Choice(months, by_code.get(code), error)


def _issued_chart(table: IssuedTable, lang: str, t_zh: bool) -> Markup:
    totals = table.month_totals()
    total = sum(totals)
    busiest = max(range(len(totals)), key=lambda i: totals[i]) if total else None
    if t_zh:
        desc = f"{table.months[0].label} 至 {table.months[-1].label} 共签发 {total} 张"
        if busiest is not None:
            desc += f"，最多的月份是 {table.months[busiest].label}（{totals[busiest]} 张）"
        title = "每月签发的电子证照，按证照类型"
    else:
        desc = f"{total} licenses issued from {table.months[0].label} to {table.months[-1].label}"
        if busiest is not None:
            desc += f"; the busiest month was {table.months[busiest].label} ({totals[busiest]})"
        title = "E-licenses issued each month, by license type"
    return stacked_columns(
        "chart-issued",
        title,
        desc + ("。" if t_zh else "."),
        [m.label for m in table.months],
        [Series(_type_name(t.type_key, lang), t.counts) for t in table.types],
        others="其他" if t_zh else "Others",
    )


def _verdict_chart(verdicts: tuple[VerdictCount, ...], lang: str, t_zh: bool) -> Markup:
    bars = [(_verdict_name(v.verdict, lang), v.count) for v in verdicts]
    words = ("、" if t_zh else "; ").join(f"{name} {count}" for name, count in bars)
    desc = (
        (f"共核验 {sum(c for _, c in bars)} 次：{words}。" if bars else "期间内没有核验。")
        if t_zh
        else (
            f"{sum(c for _, c in bars)} verifications: {words}."
            if bars
            else "No verifications in the period."
        )
    )
    return horizontal_bars(
        "chart-verdicts", "核验结论" if t_zh else "Verifications by verdict", desc, bars
    )


def _lookup_chart(lookups: tuple[LookupCount, ...], t_zh: bool) -> Markup:
    per_purpose: dict[str, int] = {}
    for row in lookups:
        name = row.purpose or ("（未申明）" if t_zh else "(none stated)")
        per_purpose[name] = per_purpose.get(name, 0) + row.total
    bars = sorted(per_purpose.items(), key=lambda item: (-item[1], item[0]))
    words = ("、" if t_zh else "; ").join(f"{name} {count}" for name, count in bars)
    desc = (
        (f"共查询 {sum(per_purpose.values())} 次：{words}。" if bars else "期间内没有查询。")
        if t_zh
        else (
            f"{sum(per_purpose.values())} lookups: {words}."
            if bars
            else "No lookups in the period."
        )
    )
    return horizontal_bars(
        "chart-lookups",
        "用证查询，按用证事由" if t_zh else "Lookups by purpose",
        desc,
        bars,
        colour="#009E73",
    )


@router.get("/stats")
def statistics_page(request: Request, member: StatsStaff) -> Response:
    services = state_of(request).services
    lang = language(request)
    zh = lang == "zh"
    departments = list_departments(services)
    choice = _choice(request, member, departments)
    if member.role is StaffRole.OFFICER:
        if member.department_code is None:
            raise ForbiddenError("an officer without a department has no figures to see")
        scope = Scope(member.department_code)
    else:
        scope = Scope(choice.department.code if choice.department else None)
    months = last_months(services.clock.now(), services.settings.zone, choice.months)
    start, end = months[0].start, months[-1].end
    issued = issued_by_type_and_month(services, scope, months)
    verdicts = verifications_by_verdict(services, scope, start, end)
    lookups = lookups_by_purpose_and_client(services, scope, start, end)
    return render(
        request,
        "stats/index.html",
        status_code=400 if choice.error else 200,
        member=member,
        periods=PERIODS,
        choice=choice,
        departments=departments if member.role is not StaffRole.OFFICER else [],
        issued=issued,
        issued_chart=_issued_chart(issued, lang, zh),
        type_names={t.type_key: _type_name(t.type_key, lang) for t in issued.types},
        verdicts=verdicts,
        verdict_names={v.verdict: _verdict_name(v.verdict, lang) for v in verdicts},
        verdict_total=sum(v.count for v in verdicts),
        verdict_chart=_verdict_chart(verdicts, lang, zh),
        lookups=lookups,
        lookup_chart=_lookup_chart(lookups, zh),
    )

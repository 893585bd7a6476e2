"""The holder's own routes (signed in): licenses, PDFs, presentation codes, access record.

JSON under /api/v1/me for apps, and /me, a page in Chinese and English that
works without script, for people. The access record is read a page at a time
in two sections, uses and refused attempts, each with its own cursor.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import zxingcpp
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trustsvc.api.browser import CSRF_FIELD, check_csrf, csrf_field, csrf_token
from trustsvc.api.deps import StateDep, pdf_download, read_bounded_body
from trustsvc.api.errors import problem_responses
from trustsvc.api.inputs import parse_form
from trustsvc.api.routes.public import status_html
from trustsvc.api.routes.signin import HolderDep
from trustsvc.api.schemas import (
    AccessPageOut,
    HolderLicenseOut,
    HolderOut,
    PresentationBody,
    PresentationOut,
    VerifierOut,
)
from trustsvc.audit.access_record import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    AccessAction,
    AccessEntry,
    AccessPage,
    Outcome,
    Section,
)
from trustsvc.holders.portal import (
    Holder,
    access_record,
    licenses_of,
    own_license,
    present_own,
    verifiers_to_name,
)
from trustsvc.holders.presentation import PresentationCode
from trustsvc.licenses.issuing import LicenseService, LicenseView
from trustsvc.sharing.clients import Client

router = APIRouter(tags=["holders"], responses=problem_responses(400, 401, 403, 404, 409, 422))
Identifier = Annotated[str, Path(max_length=128)]


def _license(view: LicenseView) -> HolderLicenseOut:
    return HolderLicenseOut(
        identifier=view.identifier,
        license_number=view.license_number,
        type_key=view.type_key,
        type_name=view.type_name,
        issuer_name=view.issuer_name,
        valid_from=view.valid_from,
        valid_until=view.valid_until,
        status=view.status,
        pdf=f"/api/v1/me/licenses/{view.identifier}/pdf",
    )


@router.get("/api/v1/me", response_model=HolderOut, summary="Who is signed in")
def me(holder: HolderDep) -> HolderOut:
    return HolderOut(
        holder_id_type=holder.id_type,
        holder_id_masked=holder.id_masked,
        name=holder.name,
        signed_in_with=holder.via,
    )


@router.get("/api/v1/me/licenses", response_model=list[HolderLicenseOut], summary="My licenses")
def my_licenses(holder: HolderDep, state: StateDep) -> list[HolderLicenseOut]:
    return [_license(v) for v in licenses_of(state.licenses, holder)]


@router.get(
    "/api/v1/me/licenses/{identifier}/pdf",
    response_class=Response,
    summary="Download my license's sealed PDF",
    responses={200: {"content": {"application/pdf": {}}}},
)
def my_pdf(identifier: Identifier, holder: HolderDep, state: StateDep) -> Response:
    view = own_license(state.licenses, holder, identifier)
    document = state.licenses.document(view.identifier)
    return pdf_download(document, view.identifier, view.license_number)


def _code(code: PresentationCode) -> PresentationOut:
    return PresentationOut(**asdict(code))


def _present(
    licenses: LicenseService, holder: Holder, identifier: str, body: PresentationBody
) -> PresentationCode:
    return present_own(
        licenses,
        holder,
        identifier,
        lifetime=timedelta(seconds=body.lifetime_seconds) if body.lifetime_seconds else None,
        single_use=body.single_use,
        purpose=body.purpose,
        intended_verifier=body.intended_verifier,
    )


@router.post(
    "/api/v1/me/licenses/{identifier}/presentations",
    response_model=PresentationOut,
    status_code=201,
    summary="亮证: a short-lived code to show my license",
)
def my_presentation(
    identifier: Identifier, body: PresentationBody, holder: HolderDep, state: StateDep
) -> PresentationOut:
    return _code(_present(state.licenses, holder, identifier, body))


Cursor = Annotated[
    str | None, Query(max_length=96, description="next_cursor of the page before (opaque)")
]


@router.get(
    "/api/v1/me/access-record",
    response_model=AccessPageOut,
    summary="Who looked me up or verified my licenses, when, and why (a page, newest first)",
)
def my_access_record(
    holder: HolderDep,
    state: StateDep,
    section: Annotated[
        Section | None,
        Query(description="uses (the default), or refused attempts; a cursor names its own"),
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> AccessPageOut:
    return AccessPageOut.of(access_record(state.licenses, holder, section, cursor, limit))


def _verifier(client: Client) -> VerifierOut:
    return VerifierOut(
        name=client.name, department_name=client.department_name, purposes=list(client.purposes)
    )


@router.get(
    "/api/v1/me/verifiers",
    response_model=list[VerifierOut],
    summary="The verifiers I may name on a presentation code, and the purposes each may state",
)
def my_verifiers(holder: HolderDep, state: StateDep) -> list[VerifierOut]:
    return [_verifier(c) for c in verifiers_to_name(state.licenses)]


# ---- the page -----------------------------------------------------------------------

_ACTIONS: dict[str, str] = {
    AccessAction.LOOKUP: "核查持证情况 · lookup",
    AccessAction.HOLDINGS: "查询名下证照 · holdings",
    AccessAction.VERIFY_PDF: "核验证照文件 · PDF verified",
    AccessAction.VERIFY_TOKEN: "核验二维码 · QR verified",
    AccessAction.PRESENTATION_CHECK: "亮证核验 · presentation checked",
    AccessAction.STATUS_CHECK: "窗口核验证照状态 · status checked at a window",
    AccessAction.ANNOTATED_COPY: "窗口留存加注件 · annotated copy kept at a window",
}
_OUTCOMES: dict[str, str] = {
    Outcome.ANSWERED: "已答复 · answered",
    Outcome.REFUSED: "已拒绝 · refused",
}


#: The session key under which the page keeps the code it last made, until it expires.
_SHOWN = "presentation"


@dataclass(frozen=True)
class _Shown:
    """A presentation code the page shows: what is scanned, and until when."""

    link: str
    expires_at: datetime


def _shown(request: Request, now: datetime) -> _Shown | None:
    """The code made from the page, while it is valid; an expired one is forgotten."""
    kept = request.session.get(_SHOWN)
    if kept is None:
        return None
    try:
        shown = _Shown(str(kept["link"]), datetime.fromisoformat(kept["expires_at"]))
    except (TypeError, KeyError, ValueError):
        request.session.pop(_SHOWN, None)
        return None
    if shown.expires_at <= now:
        request.session.pop(_SHOWN, None)
        return None
    return shown


@router.get("/me", response_class=HTMLResponse, summary="The holder's page")
async def my_page(
    request: Request,
    holder: HolderDep,
    state: StateDep,
    uses: Cursor = None,
    refused: Cursor = None,
) -> HTMLResponse:
    views = await run_in_threadpool(licenses_of, state.licenses, holder)
    used = await run_in_threadpool(access_record, state.licenses, holder, Section.USES, uses)
    attempts = await run_in_threadpool(
        access_record, state.licenses, holder, Section.REFUSED, refused
    )
    verifiers = await run_in_threadpool(verifiers_to_name, state.licenses)
    shown = _shown(request, state.services.clock.now())
    return HTMLResponse(
        _page(
            holder,
            views,
            _Record(used, attempts, first=uses is None and refused is None),
            verifiers,
            shown,
            state.services.settings.zone,
            csrf=csrf_token(request),
        )
    )


@router.post(
    "/me/present",
    status_code=303,
    response_class=RedirectResponse,
    summary="亮证 from the page: makes a single-use code, then back to /me, which shows it",
    responses=problem_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["identifier", CSRF_FIELD],
                        "properties": {
                            "identifier": {"type": "string", "maxLength": 128},
                            "verifier": {
                                "type": "string",
                                "maxLength": 200,
                                "description": "The verifier client it is for; empty: anyone",
                            },
                            CSRF_FIELD: {"type": "string", "description": "From the /me page"},
                        },
                    }
                }
            },
        }
    },
)
async def present_from_page(
    request: Request, holder: HolderDep, state: StateDep
) -> RedirectResponse:
    form = parse_form(
        await read_bounded_body(request, 4096),
        ("identifier", "verifier", CSRF_FIELD),
        max_lengths={"identifier": 128, "verifier": 200},
    )
    identifier = form.get("identifier", "")
    verifier = form.get("verifier", "").strip()
    check_csrf(request, form.get(CSRF_FIELD, ""))
    body = PresentationBody(single_use=True, intended_verifier=verifier or None)
    code = await run_in_threadpool(_present, state.licenses, holder, identifier, body)
    # Post, redirect, get: reloading the page shows this code again instead of
    # making another one.
    request.session[_SHOWN] = {"link": code.link, "expires_at": code.expires_at.isoformat()}
    return RedirectResponse("/me#presentation", status_code=303)


#: The page's only style, inline; the CSP allows it by its hash (api/browser.py).
STYLE = """
body{font-family:system-ui,"Droid Sans Fallback",sans-serif;max-width:50rem;margin:1rem auto;
padding:0 1rem}
table{width:100%;border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
#presentation-link{overflow-wrap:anywhere}
#presentation-qr{background:#fff;padding:1rem;width:14rem;max-width:70vw}
#presentation-qr svg{width:100%;height:auto;display:block;shape-rendering:crispEdges}
.scroll{overflow-x:auto}
small{color:#666}
form{display:inline}
"""


def _qr_svg(link: str) -> str:
    """The link as a QR code, inline SVG (the quiet zone is the box's white padding)."""
    code = zxingcpp.create_barcode(link, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    svg: str = code.to_svg()
    return svg[svg.index("<svg") :]


@dataclass(frozen=True)
class _Record:
    """The access record as the page shows it: a page of uses, a page of refused attempts."""

    uses: AccessPage
    refused: AccessPage
    #: Both are first pages (the "more" links then lead on from here).
    first: bool


def _page(
    holder: Holder,
    views: list[LicenseView],
    record: _Record,
    verifiers: list[Client],
    code: _Shown | None,
    zone: ZoneInfo,
    *,
    csrf: str,
) -> str:
    e = html.escape
    token = csrf_field(csrf)

    def local(moment: datetime) -> str:
        """In the service's time zone, as the holder reads a clock."""
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    def when(x: AccessEntry) -> str:
        if x.count == 1 or x.first_at is None:
            return e(local(x.at))
        return (
            f"{e(local(x.first_at))} – {e(local(x.at))}<br>"
            f"<small>共 {x.count} 次 · {x.count} times</small>"
        )

    def lines(entries: tuple[AccessEntry, ...]) -> str:
        return (
            "".join(
                f"<tr><td>{when(x)}</td>"
                f"<td>{e(x.actor)}<br><small>{e(x.actor_department or '')}</small></td>"
                f"<td>{e(_ACTIONS.get(x.action, x.action))}</td><td>{e(x.purpose or '—')}</td>"
                f"<td>{e(_OUTCOMES.get(x.outcome, x.outcome))}"
                + (f"<br><small>{e(x.refusal)}</small>" if x.refusal else "")
                + "</td></tr>"
                for x in entries
            )
            or '<tr><td colspan="5">暂无记录 <small>Nothing yet</small></td></tr>'
        )

    def more(page: AccessPage, param: str) -> str:
        if page.next_cursor is None:
            return ""
        return (
            f'<p><a class="more" id="more-{param}" href="/me?{param}={e(page.next_cursor)}">'
            f"更早的记录 <small>More (older)</small></a></p>"
        )

    choices = '<option value="">任何扫码的核验人员 · anyone who scans it</option>' + "".join(
        f'<option value="{e(v.name)}">{e(v.name)}'
        + (f" · {e(v.department_name)}" if v.department_name else "")
        + "</option>"
        for v in verifiers
    )
    again = (
        ""
        if record.first
        else '<p><a href="/me">回到最新记录 <small>Back to the newest</small></a></p>'
    )

    rows = "".join(
        f"<tr><td>{e(v.type_name)}<br><small>{e(v.license_number)}</small></td>"
        f"<td>{e(v.issuer_name)}</td><td>{status_html(v.status)}</td>"
        f'<td><a href="/api/v1/me/licenses/{e(v.identifier)}/pdf">PDF</a>'
        + (
            f'<form method="post" action="/me/present">{token}'
            f'<input type="hidden" name="identifier" value="{e(v.identifier)}">'
            f"<label>出示给 <small>for</small> "
            f'<select name="verifier">{choices}</select></label> '
            f'<button type="submit">亮证 Show</button></form>'
            if v.status == "valid"
            else ""
        )
        + "</td></tr>"
        for v in views
    )
    header = (
        "<tr><th>时间 When</th><th>使用方 Who</th><th>事项 What</th><th>事由 Purpose</th>"
        "<th>结果 Outcome</th></tr>"
    )
    shown = (
        f'<section id="presentation"><h2>亮证码 <small>Presentation code</small></h2>'
        f'<div id="presentation-qr">{_qr_svg(code.link)}</div>'
        f"<p>请出示给核验人员扫描，有效至 {e(local(code.expires_at))}<br>"
        f"<small>Show this to the verifier; valid until then</small></p>"
        f'<p><a id="presentation-link" href="{e(code.link)}">{e(code.link)}</a></p></section>'
        if code
        else ""
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>我的电子证照 · My e-licenses</title>
<style>{STYLE}</style></head><body>
<h1>我的电子证照 <small>My e-licenses</small></h1>
<p id="holder">{e(holder.name or "")} {e(holder.id_masked)}
<form method="post" action="/auth/sign-out">{token}<button type="submit">退出 Sign out</button>
</form></p>
{shown}
<div class="scroll"><table id="licenses">
<tr><th>证照 License</th><th>颁发机构 Issuer</th><th>状态 Status</th><th></th></tr>
{rows}</table></div>
<h2>用证记录 <small>Uses of my data</small></h2>{again}
<div class="scroll"><table id="access-record">
{header}{lines(record.uses.entries)}</table></div>{more(record.uses, "uses")}
<h2>被拒绝的尝试 <small>Refused attempts</small></h2>
<div class="scroll"><table id="refused-attempts">
{header}{lines(record.refused.entries)}</table></div>{more(record.refused, "refused")}
</body></html>"""

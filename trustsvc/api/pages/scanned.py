"""The page a scanned QR code opens, built from a verification report: the standing, the
four checks, the facts a person may see and what to do, every word already in the page's
language.

This is the hot path of the public page (routes/public.py ``scanned``): its words are
chosen here in Python, once, and the template only prints them (a call from a Jinja2
template costs several microseconds, and the page would make some forty). The compiled
template is kept for the life of the process (``rendering.environment``).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from trustsvc.api.deps import ApiState
from trustsvc.api.pages.rendering import language, render
from trustsvc.errors import NotFoundError
from trustsvc.licenses.types import LicenseType, get_type
from trustsvc.verification import reasons as R
from trustsvc.verification.report import VERDICT_TEXT, Scope, VerificationReport
from trustsvc.verification.summary import Standing, Words, status_text, summarise, validity


@dataclass(frozen=True)
class FactLine:
    """One line of the page's facts: its label, and words (or a code shown as it is)."""

    key: str
    label: Words
    value: Words | str
    #: An identifier or number: shown verbatim, broken only after its dots.
    code: bool = False

    @property
    def code_markup(self) -> Markup:
        """The code, escaped, with a line-break chance after each dot and nowhere else."""
        return _BREAK.join(str(self.value).split("."))


_BREAK = Markup(".<wbr>")


def _facts(
    report: VerificationReport, license_type: LicenseType | None, zone: ZoneInfo
) -> list[FactLine]:
    """The facts a person may see, in the order they ask for them; absent ones left out."""
    facts = report.facts
    lines: list[FactLine] = []
    if license_type is not None:
        lines.append(
            FactLine(
                "license_type", ("证照类型", "Type"), (license_type.name_zh, license_type.name_en)
            )
        )
    elif facts.license_type:
        lines.append(FactLine("license_type", ("证照类型", "Type"), facts.license_type, code=True))
    if facts.license_number:
        number = facts.license_number
        lines.append(FactLine("license_number", ("证照编号", "Number"), (number, number)))
    if facts.identifier:
        lines.append(FactLine("identifier", ("证照标识", "Identifier"), facts.identifier, True))
    if facts.issuer_name:
        lines.append(FactLine("issuer_name", ("颁发机构", "Issuer"), (facts.issuer_name,) * 2))
    elif facts.issuer_code:
        lines.append(
            FactLine("issuer_code", ("颁发机构代码", "Issuer code"), facts.issuer_code, True)
        )
    if facts.holder_name_masked:
        lines.append(FactLine("holder", ("持证主体", "Holder"), (facts.holder_name_masked,) * 2))
    period = validity(facts.valid_from, facts.valid_until)
    if period is not None:
        lines.append(FactLine("validity", ("有效期", "Valid"), period))
    status = status_text(facts.status, facts.revocation_kind, facts.status_since, zone)
    if status is not None:
        lines.append(FactLine("status", ("当前状态", "Status"), status))
    if facts.status_reason:
        lines.append(FactLine("status_reason", ("原因", "Reason"), (facts.status_reason,) * 2))
    if facts.current_identifier:
        lines.append(
            FactLine(
                "current_identifier",
                ("现行版本", "Version in force"),
                facts.current_identifier,
                True,
            )
        )
    if facts.current_number:
        lines.append(
            FactLine("current_number", ("现行版本编号", "Its number"), facts.current_number, True)
        )
    if facts.signing_time is not None:
        moment = facts.signing_time.astimezone(zone)
        lines.append(
            FactLine(
                "signing_time",
                ("盖章时间", "Sealed at"),
                (R.people_time(moment, zone), f"{moment:%Y-%m-%d %H:%M}"),
            )
        )
    return lines


@dataclass(frozen=True)
class Line:
    """One line of the page (a check or a fact) in the page's language."""

    key: str
    text: str
    #: A fact's value (an identifier as markup with its break chances), or a check's state.
    value: str | Markup
    #: For a check: its state and mark; for a fact: "code" when it is an identifier.
    kind: str = ""
    mark: str = ""


@dataclass(frozen=True)
class Page:
    """Everything the template prints, in one language."""

    standing: str
    verdict: str
    scope: str
    icon: Markup
    headline: str
    #: The verdict's own words, when they say more than the headline.
    verdict_text: str | None
    #: The verdict's words in the other language, for whoever reads that one.
    other_text: str
    other_lang: str
    notes: tuple[str, ...]
    scope_text: str
    checks: tuple[Line, ...]
    facts: tuple[Line, ...]
    facts_proven: bool
    advice: str
    issuer: str | None


def scanned_page(
    request: Request, state: ApiState, report: VerificationReport, *, status_only: bool = False
) -> HTMLResponse:
    """The page of a report for anyone: the QR page, or (``status_only``) an identifier's
    status looked up from the home page."""
    zone = state.services.settings.zone
    summary = summarise(report, VERDICT_TEXT[report.verdict], zone, status_only=status_only)
    lang = language(request)
    i = 1 if lang == "en" else 0
    # A code meant for a named verifier or purpose: where to take it, and nothing of the
    # license (not even what the token itself says).
    elsewhere = summary.standing is Standing.ELSEWHERE
    scope = _STATUS_ONLY_TEXT if status_only else _SCOPE_TEXT[report.scope]
    scope_text = scope[i]
    if report.checked_at is not None:
        moment = report.checked_at.astimezone(zone)
        when = R.people_time(moment, zone) if i == 0 else f"{moment:%Y-%m-%d %H:%M}"
        scope_text = f"{scope_text} · {_CHECKED_AT[i]} {when}"
    page = Page(
        standing=summary.standing.value,
        verdict="elsewhere" if elsewhere else report.verdict.value,
        scope=report.scope.value,
        icon=_ICONS[summary.standing],
        headline=summary.headline[i],
        verdict_text=(
            summary.verdict_text[i] if summary.verdict_text[0] != summary.headline[0] else None
        ),
        other_text=summary.verdict_text[1 - i],
        other_lang="zh-CN" if i else "en",
        notes=tuple(note[i] for note in summary.notes),
        scope_text=scope_text,
        checks=tuple(
            Line(
                line.check.value,
                line.text[i],
                _CHECK_STATES[line.state][i],
                line.state.value,
                _CHECK_MARKS[line.state],
            )
            for line in summary.checks
        ),
        facts=()
        if elsewhere
        else tuple(_shown(line, i) for line in _facts(report, _license_type(state, report), zone)),
        facts_proven=summary.facts_proven,
        advice=summary.advice[i],
        issuer=None if elsewhere else report.facts.issuer_name,
    )
    return render(request, "public/scanned.html", page=page)


def _shown(line: FactLine, i: int) -> Line:
    if line.code:
        return Line(line.key, line.label[i], line.code_markup, "code")
    value = line.value
    return Line(line.key, line.label[i], value[i] if isinstance(value, tuple) else value)


#: What the check consulted, in words.
_SCOPE_TEXT: dict[Scope, Words] = {
    Scope.ONLINE: ("联网核验：已核对证照库中的现行状态", "Checked online against the library"),
    Scope.OFFLINE: ("离线核验：未核对证照库状态", "Offline: the library was not consulted"),
}
_STATUS_ONLY_TEXT: Words = (
    "按证照标识查询证照库中的状态",
    "The library's status of the identifier typed",
)
_CHECKED_AT: Words = ("核验时间", "checked at")
_CHECK_MARKS = {"passed": "✓", "failed": "✕", "not_checked": "–"}
_CHECK_STATES: dict[str, Words] = {
    "passed": ("通过", "passed"),
    "failed": ("未通过", "failed"),
    "not_checked": ("未核对", "not checked"),
}


def _icon(drawing: str) -> Markup:
    """An icon from this module's constant drawings (no outside text ever reaches it)."""
    return Markup(  # noqa: S704
        '<svg class="verdict-icon" viewBox="0 0 48 48" width="48" height="48" '
        f'aria-hidden="true" focusable="false">{drawing}</svg>'
    )


_WHITE = 'fill="none" stroke="#fff" stroke-linecap="round" stroke-linejoin="round"'
_DISC = '<circle cx="24" cy="24" r="22" fill="currentColor"/>'
#: The standing's icon: a shape as well as a colour, so that it reads without colour.
_ICONS: dict[Standing, Markup] = {
    Standing.VALID: _icon(f'{_DISC}<path d="M13 25l7 7 15-16" {_WHITE} stroke-width="5"/>'),
    Standing.ATTENTION: _icon(
        '<path d="M24 3L46 43H2z" fill="currentColor" stroke="currentColor" '
        'stroke-width="2" stroke-linejoin="round"/>'
        f'<path d="M24 17v13" {_WHITE} stroke-width="5"/>'
        '<circle cx="24" cy="37" r="3" fill="#fff"/>'
    ),
    Standing.INVALID: _icon(
        '<rect x="2" y="2" width="44" height="44" rx="6" fill="currentColor"/>'
        f'<path d="M15 15l18 18M33 15L15 33" {_WHITE} stroke-width="5"/>'
    ),
    Standing.UNDECIDED: _icon(
        f'{_DISC}<path d="M18 18a6 6 0 1 1 8 5.7c-1.3.5-2 1.4-2 2.8V29" {_WHITE} '
        'stroke-width="4.5"/><circle cx="24" cy="36" r="3" fill="#fff"/>'
    ),
    Standing.SHOW_AGAIN: _icon(
        f'{_DISC}<path d="M33 19a10 10 0 1 0 1 9" {_WHITE} stroke-width="4.5"/>'
        f'<path d="M35 11v9h-9" {_WHITE} stroke-width="4.5"/>'
    ),
    Standing.ELSEWHERE: _icon(
        f'{_DISC}<path d="M13 24h20M26 16l8 8-8 8" {_WHITE} stroke-width="5"/>'
    ),
}


def _license_type(state: ApiState, report: VerificationReport) -> LicenseType | None:
    """The type a report names, for its name in words; None when unknown here."""
    if report.facts.license_type is None:
        return None
    try:
        return get_type(state.licenses.types, report.facts.license_type)
    except NotFoundError:
        return None

"""The page a scanned QR code opens, built from a verification report: the standing, the
four checks, the facts a person may see and what to do, every word already in the page's
language.

This is the hot path of the public page (routes/public.py ``scanned``), and so it has
no template of its own: the page's fixed text is made once per language at import, the
frame around it (base.html's header and footer) once per language and process
(``rendering.visitor_frame``), and a request only escapes its report's words into them.
Rendered by Jinja2, the same page took most of the time of the request. A page made is
kept by everything it was made of (``scanned_page``): a printed code scanned again, with
the library's answer unchanged, gets the same bytes without their being made again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from trustsvc.api.deps import ApiState
from trustsvc.api.pages.rendering import language, page_response, visitor_frame
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


def scanned_page(
    request: Request, state: ApiState, report: VerificationReport, *, status_only: bool = False
) -> HTMLResponse:
    """The page of a report for anyone: the QR page, or (``status_only``) an identifier's
    status looked up from the home page."""
    lang = language(request)
    license_type = _license_type(state, report)
    names = None if license_type is None else (license_type.name_zh, license_type.name_en)
    checked = report.checked_at
    zone = state.services.settings.zone
    # Everything the page is made of: the report (its moment to the minute, as shown),
    # the language, the zone, the kind of page and the type's name. The same license
    # scanned again within the minute, with the library's answer unchanged, is the
    # same page.
    key = (
        report.verdict,
        report.reasons,
        report.facts,
        report.scope,
        None if checked is None else int(checked.timestamp()) // 60,
        lang,
        zone.key,
        status_only,
        names,
    )
    body = _PAGES.get(key)
    if body is None:
        body = _page(report, lang, license_type, zone, status_only).encode()
        if len(_PAGES) >= _PAGES_KEPT:
            _PAGES.clear()
        _PAGES[key] = body
    return page_response(request, lang, body)


#: Pages made, by everything they were made of (cleared when full): a printed code is
#: scanned again and again, and its page took most of the request's time.
_PAGES: dict[tuple[object, ...], bytes] = {}
_PAGES_KEPT = 1024


def _page(
    report: VerificationReport,
    lang: str,
    license_type: LicenseType | None,
    zone: ZoneInfo,
    status_only: bool,
) -> str:
    """The whole page of a report, in ``lang``."""
    summary = summarise(report, VERDICT_TEXT[report.verdict], zone, status_only=status_only)
    i = 1 if lang == "en" else 0
    words = _WORDS[i]
    standing = summary.standing.value
    # A code meant for a named verifier or purpose: where to take it, and nothing of the
    # license (not even what the token itself says).
    elsewhere = summary.standing is Standing.ELSEWHERE
    scope_text = (_STATUS_ONLY_TEXT if status_only else _SCOPE_TEXT[report.scope])[i]
    if report.checked_at is not None:
        moment = report.checked_at.astimezone(zone)
        when = R.people_time(moment, zone) if i == 0 else f"{moment:%Y-%m-%d %H:%M}"
        scope_text = f"{scope_text} · {_CHECKED_AT[i]} {when}"
    headline = escape(summary.headline[i])
    parts = [
        '<div class="scan">\n<p class="scan-kicker">',
        words.kicker,
        f'</p>\n<section class="verdict verdict-{standing}" id="verdict" data-verdict="',
        "elsewhere" if elsewhere else report.verdict.value,
        f'" data-standing="{standing}" aria-labelledby="verdict-word">\n'
        f'<div class="verdict-head">{_ICONS[summary.standing]}\n'
        f'<h1 class="verdict-title" id="verdict-word"><strong>{headline}</strong></h1>\n</div>\n',
    ]
    if summary.verdict_text[0] != summary.headline[0]:
        parts.append(f'<p class="verdict-text">{escape(summary.verdict_text[i])}</p>\n')
    parts.append(
        f'<p class="verdict-other" lang="{"zh-CN" if i else "en"}">'
        f"{escape(summary.verdict_text[1 - i])}</p>\n"
    )
    if summary.notes:
        parts.append('<ul class="verdict-notes">\n')
        parts.extend(f"<li>{escape(note[i])}</li>\n" for note in summary.notes)
        parts.append("</ul>\n")
    parts.append(
        f'<p class="verdict-scope" data-scope="{report.scope.value}">{escape(scope_text)}</p>\n'
        "</section>\n"
    )
    if summary.checks:
        parts.append(words.checks_open)
        for line in summary.checks:
            state_ = line.state.value
            parts.append(
                f'<li class="check check-{state_}" data-check="{line.check.value}" '
                f'data-state="{state_}">\n<span class="check-mark" aria-hidden="true">'
                f"{_CHECK_MARKS[state_]}</span>\n"
                f'<span class="check-text">{escape(line.text[i])}</span>\n'
                f'<span class="check-state">{_CHECK_STATES[state_][i]}</span>\n</li>\n'
            )
        parts.append("</ul>\n</section>\n")
    if not elsewhere:
        facts = _facts(report, license_type, zone)
        if facts:
            parts.append(words.facts_open)
            if not summary.facts_proven:
                parts.append(words.unproven)
            parts.append('<dl class="license-facts">\n')
            parts.extend(_fact_html(fact, i) for fact in facts)
            parts.append("</dl>\n</section>\n")
    parts.append(
        f'<section class="panel advice advice-{standing}" aria-labelledby="advice-title">\n'
        f"{words.advice_title}<p>{escape(summary.advice[i])}</p>\n"
    )
    if not elsewhere and report.facts.issuer_name:
        parts.append(
            f'<p class="advice-issuer">{words.issuer}{escape(report.facts.issuer_name)}</p>\n'
        )
    parts.append(words.foot)
    return visitor_frame(lang, _HEAD).page(f"{words.title} · {headline}", "".join(parts))


def _fact_html(line: FactLine, i: int) -> str:
    """One fact as a term and its description (an identifier broken only after its dots)."""
    value = line.value
    if line.code:
        shown, kind = line.code_markup, ' class="code"'
    else:
        shown, kind = escape(value[i] if isinstance(value, tuple) else value), ""
    return (
        f'<div class="fact"><dt>{line.label[i]}</dt>'
        f'<dd id="fact-{line.key}"{kind}>{shown}</dd></div>\n'
    )


@dataclass(frozen=True)
class _PageWords:
    """The page's fixed text in one language, as markup (constants of this module only)."""

    title: str
    kicker: str
    checks_open: str
    facts_open: str
    unproven: str
    advice_title: str
    issuer: str
    foot: str


def _page_words(t: Callable[[str, str], str]) -> _PageWords:
    return _PageWords(
        title=t("电子证照核验", "E-license verification"),
        kicker=t("电子证照核验结果", "E-license verification result"),
        checks_open=(
            '<section class="panel" aria-labelledby="checks-title">\n'
            f'<h2 id="checks-title">{t("核验了什么", "What was checked")}</h2>\n'
            '<ul class="checks">\n'
        ),
        facts_open=(
            '<section class="panel" aria-labelledby="facts-title">\n'
            f'<h2 id="facts-title">{t("证照信息", "The license")}</h2>\n'
        ),
        unproven=(
            '<p class="notice" id="facts-unproven">'
            + t(
                "以下内容取自二维码本身，未能证实，不可采信。",
                "What follows is what the QR code itself says: it could not be proven, "
                "do not rely on it.",
            )
            + "</p>\n"
        ),
        advice_title=f'<h2 id="advice-title">{t("接下来怎么办", "What to do")}</h2>\n',
        issuer=t("颁发机构：", "Issuer: "),
        foot=(
            '</section>\n<p class="scan-foot">'
            + t(
                "本页由电子证照服务按二维码内容实时核验生成，不保存扫码人的任何信息。",
                "This page was made by checking the QR code against the e-license service "
                "just now; nothing about whoever scanned it is kept.",
            )
            + f'\n<a href="/">{t("了解本服务", "About this service")}</a></p>\n</div>\n'
        ),
    )


#: The page's fixed text, by language index (0 Chinese, 1 English).
_WORDS = (_page_words(lambda zh, _en: zh), _page_words(lambda _zh, en: en))
#: What the page adds to the frame's head.
_HEAD = '<link rel="stylesheet" href="/static/public.css">'


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

"""The printable verification report: one A4 page in Chinese (English beside), for the clerk's file.

Pure: a ``VerificationReport`` in, PDF bytes and the place of the seal out,
set in the same embedded CJK font as the licenses and written by the same
page writer (``licenses.pdfpage``), so the report is prepared to meet
PDF/A-2b (ISO 19005-2) like a license. The service seals it afterwards with
its verification-report seal (``seals.report_seal``), the stamp laid over the
issuing line at the bottom right as on a paper certificate.

What a person reads is in Chinese words: the verdict, the license type's
name, the status, and certificate holders as 名称 / 统一社会信用代码 (never
type keys, verdict codes or RFC 4514 strings such as ``2.5.4.97=``). Lines
break only where ``licenses.linebreak`` allows (never inside a word, a number
or a date unless it alone is wider than the line).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.x509.oid import NameOID
from reportlab.lib.pagesizes import A4

from trustsvc.documents.fonts import font_runs, text_width
from trustsvc.documents.linebreak import break_lines
from trustsvc.documents.pdfpage import PRODUCER, DocumentInfo, PdfPage, number
from trustsvc.documents.render import SEAL_DIAMETER, chinese_date
from trustsvc.licenses.library import EffectiveStatus, RevocationKind
from trustsvc.licenses.types import load_types
from trustsvc.pki.ca import ORGANISATION_ID_PREFIX
from trustsvc.verification.reasons import STATUS_WORDS
from trustsvc.verification.report import VERDICT_TEXT, VerificationReport

_WIDTH, _HEIGHT = A4
_LEFT, _RIGHT = 64.0, _WIDTH - 64.0
_GREEN = (0.05, 0.45, 0.2)
_RED = (0.75, 0.05, 0.05)
_INK = (0.1, 0.1, 0.1)
_MUTED = (0.4, 0.4, 0.4)
_RULE = (0.75, 0.75, 0.75)

_FACT_LABELS = {
    "identifier": "证照标识 Identifier",
    "license_type": "证照类型 Type",
    "license_number": "证照编号 Number",
    "issuer_name": "颁发机构 Issuer",
    "issuer_code": "统一社会信用代码 Credit code",
    "holder_name_masked": "持证主体 Holder",
    "valid_from": "有效期起 Valid from",
    "valid_until": "有效期至 Valid until",
    "status": "当前状态 Status",
    "seal_subject": "印章证书 Seal certificate",
    "seal_serial": "证书序列号 Serial",
    "signing_time": "盖章时间 Sealed at",
    "timestamp_authority": "时间戳机构 TSA",
}

#: What the report words by the one status table: the library's statuses, and the
#: revocation kinds the law keeps apart (注销 on request, 吊销 as a sanction).
_STATUSES = frozenset(EffectiveStatus)
_REVOCATION_KINDS = frozenset(RevocationKind)


def _status_label(key: str) -> str:
    """A status as the report prints it: the public page's Chinese, an English label beside."""
    words = STATUS_WORDS[key]
    return f"{words.zh} {words.label_en}"


#: Time zones named as people in China name them; others by their IANA name.
_ZONE_WORDS = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "PRC": "北京时间"}

_TITLE = "电子证照核验报告"
#: Where the facts' values begin, from the left margin.
_VALUE_COLUMN = 150.0
#: The seal's side, as on a license.
_SEAL = SEAL_DIAMETER
#: Lowest a line of the body may sit: above the issuing block and the footer.
_FOOTER_Y = 56.0


@dataclasses.dataclass(frozen=True)
class RenderedReport:
    pdf: bytes
    #: Where the report seal's stamp goes (x1, y1, x2, y2 in points).
    seal_box: tuple[float, float, float, float]


class _Sheet:
    """The report's text, drawn in one colour at a time."""

    def __init__(self, page: PdfPage, font_name: str) -> None:
        self.page = page
        self.font_name = font_name
        self._ops: list[str] = ["BT"]

    def colour(self, rgb: tuple[float, float, float]) -> None:
        self._ops.append(" ".join(number(c) for c in rgb) + " rg")

    def draw(self, x: float, y: float, text: str, size: float) -> None:
        self._ops.append(f"1 0 0 1 {number(x)} {number(y)} Tm")
        for font, run in font_runs(self.font_name, text):
            for resource, codes in self.page.encode(font, run):
                self._ops.append(f"/{resource} {number(size)} Tf <{codes}> Tj")

    def lines(self, x: float, y: float, text: str, size: float, width: float) -> float:
        """Draw ``text`` wrapped to ``width``; the baseline below its last line."""
        leading = size * 1.45
        for paragraph in text.split("\n"):
            for line in break_lines(paragraph, width / size, self._measure):
                self.draw(x, y, line, size)
                y -= leading
        return y

    def _measure(self, text: str) -> float:
        return text_width(self.font_name, text, 1.0)

    def finish(self, rules: list[tuple[float, float, float]]) -> None:
        self._ops.append("ET")
        strokes = [" ".join(number(c) for c in _RULE) + " RG 0.6 w"]
        strokes += [
            f"{number(x1)} {number(y)} m {number(x2)} {number(y)} l S" for x1, x2, y in rules
        ]
        self.page.add("q " + " ".join(strokes) + " Q")
        self.page.add("\n".join(self._ops))


def _describe(report: VerificationReport, zone: ZoneInfo, issuer: str) -> DocumentInfo:
    """Information dictionary and XMP metadata: the report's moment is when it was checked."""
    moment = (report.checked_at or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(zone)
    offset = moment.strftime("%z") or "+0000"
    zh, en = VERDICT_TEXT[report.verdict]
    return DocumentInfo(
        title=_TITLE,
        author=issuer,
        subject=f"核验结论：{zh} Verdict: {en}",
        keywords=report.facts.identifier or "",
        creator="trustsvc",
        producer=PRODUCER,
        pdf_date=f"D:{moment:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'",
        iso_date=f"{moment:%Y-%m-%dT%H:%M:%S}{offset[:3]}:{offset[3:]}",
    )


@functools.cache
def _shipped_type_names() -> dict[str, str]:
    return {key: f"{t.name_zh} {t.name_en}" for key, t in load_types().items()}


def subject_words(subject: str) -> str:
    """A certificate subject (RFC 4514) as 名称 and 统一社会信用代码, the way a person reads it.

    The name is the organisation (O), else the common name (CN); the code is
    organizationIdentifier without its ``NTRCN-`` prefix (ETSI EN 319 412-1).
    What cannot be parsed is shown as given, rather than hidden.
    """
    try:
        name = x509.Name.from_rfc4514_string(subject)
    except ValueError:
        return subject

    def first(oid: x509.ObjectIdentifier) -> str | None:
        values = name.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    holder = first(NameOID.ORGANIZATION_NAME) or first(NameOID.COMMON_NAME)
    code = first(NameOID.ORGANIZATION_IDENTIFIER)
    common = first(NameOID.COMMON_NAME)
    lines = [f"名称：{holder}" + (f"（{common}）" if common and common != holder else "")]
    if code:
        lines.append(f"统一社会信用代码：{code.removeprefix(ORGANISATION_ID_PREFIX)}")
    return "\n".join(lines) if holder else subject


_HUMAN_FRIENDLY_CN = re.compile(r"(?:^|, )Common Name: (.+?)(?:, [A-Z][A-Za-z ]+: |$)")


def _authority_words(value: str) -> str:
    """A TSA named as asn1crypto's "human friendly" text: its common name alone."""
    found = _HUMAN_FRIENDLY_CN.search(value)
    return found.group(1) if found else value


def _value(name: str, value: object, zone: ZoneInfo, type_names: Mapping[str, str]) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(zone)
        zone_words = _ZONE_WORDS.get(zone.key, zone.key)
        return f"{chinese_date(local.date())} {local:%H:%M:%S}（{zone_words}）"
    if isinstance(value, date):
        return chinese_date(value)
    text = str(value)
    if name == "license_type":
        return type_names.get(text, text)
    if name == "status":
        return _status_label(text) if text in _STATUSES else text
    if name == "seal_subject":
        return subject_words(text)
    if name == "timestamp_authority":
        return _authority_words(text)
    return text


def lay_out_report(
    report: VerificationReport,
    font_name: str,
    zone: ZoneInfo,
    *,
    issuer: str = "trustsvc",
    type_names: Mapping[str, str] | None = None,
    context: Sequence[tuple[str, str]] = (),
) -> RenderedReport:
    """The report's page and where its seal goes; ``issuer`` is the operator that issues it.

    ``context``: (label, value) lines about the check itself, printed after the facts
    (a clerk's window and the purpose stated, say).
    """
    names = _shipped_type_names() if type_names is None else type_names
    page = PdfPage(_WIDTH, _HEIGHT)
    sheet = _Sheet(page, font_name)
    width = _RIGHT - _LEFT
    rules: list[tuple[float, float, float]] = []
    sheet.colour(_INK)
    sheet.draw((_WIDTH - text_width(font_name, _TITLE, 22)) / 2, _HEIGHT - 90, _TITLE, 22)
    subtitle = "E-LICENSE VERIFICATION REPORT"
    sheet.draw((_WIDTH - text_width(font_name, subtitle, 10)) / 2, _HEIGHT - 110, subtitle, 10)
    rules.append((_LEFT, _RIGHT, _HEIGHT - 126))

    zh, en = VERDICT_TEXT[report.verdict]
    sheet.colour(_GREEN if report.is_valid else _RED)
    y = sheet.lines(_LEFT, _HEIGHT - 160, f"核验结论：{zh}", 18, width)
    y = sheet.lines(_LEFT, y + 8, f"Verdict: {en}", 10, width) - 10

    sheet.colour(_INK)
    if report.reasons:
        sheet.draw(_LEFT, y, "原因 Reasons", 11)
        y -= 18
        for reason in report.reasons:
            sheet.draw(_LEFT + 8, y, "•", 10)
            y = sheet.lines(_LEFT + 20, y, reason.message_zh, 10, width - 20)
            sheet.colour(_MUTED)
            y = sheet.lines(_LEFT + 20, y + 1, reason.message_en, 8.5, width - 20)
            sheet.colour(_INK)
            y -= 4
        y -= 8

    rules.append((_LEFT, _RIGHT, y + 10))
    y -= 8
    sheet.draw(_LEFT, y, "核验事实 Facts", 11)
    y -= 20
    known = {name: value for name, value in dataclasses.asdict(report.facts).items() if value}
    if not known:
        sheet.colour(_MUTED)
        sheet.draw(_LEFT, y, "无（文件中没有可核对的内容）None", 9)
        y -= 18
    for name, value in known.items():
        sheet.colour(_MUTED)
        label_bottom = sheet.lines(_LEFT, y, _FACT_LABELS.get(name, name), 9, _VALUE_COLUMN - 8)
        sheet.colour(_INK)
        text = _value(name, value, zone, names)
        kind = report.facts.revocation_kind
        if name == "status" and kind in _REVOCATION_KINDS:
            text = _status_label(kind)
        value_bottom = sheet.lines(_LEFT + _VALUE_COLUMN, y, text, 9.5, width - _VALUE_COLUMN)
        y = min(label_bottom, value_bottom) - 4
    for label, text in context:
        sheet.colour(_MUTED)
        label_bottom = sheet.lines(_LEFT, y, label, 9, _VALUE_COLUMN - 8)
        sheet.colour(_INK)
        value_bottom = sheet.lines(_LEFT + _VALUE_COLUMN, y, text, 9.5, width - _VALUE_COLUMN)
        y = min(label_bottom, value_bottom) - 4

    # The issuing block, with the seal over it, as on a paper certificate.
    checked = report.checked_at.astimezone(zone).date() if report.checked_at else None
    block = [f"出具单位：{issuer}", f"出具日期：{chinese_date(checked)}" if checked else ""]
    block_top = max(_FOOTER_Y + _SEAL * 0.5 + 14, min(y - _SEAL * 0.5, 200.0))
    line_y = block_top
    block_width = max(text_width(font_name, line, 10.5) for line in block)
    for line in (b for b in block if b):
        sheet.draw(_RIGHT - block_width, line_y, line, 10.5)
        line_y -= 17
    # Centred over the issuer and the date, as a seal is stamped.
    middle_x = min(_RIGHT - block_width / 2, _RIGHT - _SEAL / 2)
    middle_y = block_top - 4
    seal_box = (
        middle_x - _SEAL / 2,
        middle_y - _SEAL / 2,
        middle_x + _SEAL / 2,
        middle_y + _SEAL / 2,
    )

    sheet.colour(_MUTED)
    footer = (
        f"本报告由 {issuer} 核验服务出具，盖有核验报告专用章；"
        "报告上的电子印章可用本服务或任何 PAdES 验证工具核验。"
    )
    rules.append((_LEFT, _RIGHT, _FOOTER_Y + 10))
    sheet.lines(_LEFT, _FOOTER_Y, footer, 8, width)
    sheet.finish(rules)
    return RenderedReport(page.pdf(_describe(report, zone, issuer)), seal_box)


def render_report(
    report: VerificationReport,
    font_name: str,
    zone: ZoneInfo,
    *,
    issuer: str = "trustsvc",
    type_names: Mapping[str, str] | None = None,
) -> bytes:
    """The report's page, unsealed (``seals.report_seal.sealed_report`` seals it)."""
    return lay_out_report(report, font_name, zone, issuer=issuer, type_names=type_names).pdf

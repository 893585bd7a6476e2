"""The printable verification report: one A4 page in Chinese (English beside), for the clerk's file.

Pure: a ``VerificationReport`` in, PDF bytes out, set in the same embedded
CJK font as the licenses and written by the same page writer
(``licenses.pdfpage``), so the report is prepared to meet PDF/A-2b (ISO
19005-2) like a license: embedded subset fonts with /ToUnicode, the sRGB
output intent, XMP metadata that agrees with the information dictionary.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4

from trustsvc.licenses.fonts import font_runs, text_width
from trustsvc.licenses.pdfpage import DocumentInfo, PdfPage, number
from trustsvc.licenses.render import PRODUCER, chinese_date
from trustsvc.verification.report import Verdict, VerificationReport

_WIDTH, _HEIGHT = A4
_LEFT, _RIGHT = 64.0, _WIDTH - 64.0
_GREEN = (0.05, 0.45, 0.2)
_RED = (0.75, 0.05, 0.05)
_INK = (0.1, 0.1, 0.1)
_MUTED = (0.4, 0.4, 0.4)

VERDICT_TEXT = {
    Verdict.VALID: ("有效", "Valid"),
    Verdict.NOT_CURRENT: ("证照非现行有效", "Not current"),
    Verdict.MODIFIED_AFTER_SEALING: ("盖章后被修改", "Modified after sealing"),
    Verdict.INVALID_SIGNATURE: ("签名无效", "Invalid signature"),
    Verdict.UNTRUSTED_ISSUER: ("颁发机构不可信或不符", "Untrusted or wrong issuer"),
    Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED: (
        "印章证书已吊销或过期",
        "Seal certificate revoked or expired",
    ),
    Verdict.NOT_SEALED: ("未盖电子印章", "Not sealed"),
    Verdict.MALFORMED_INPUT: ("文件无法核验", "Malformed input"),
    Verdict.UNKNOWN_TO_LIBRARY: ("证照库中无此证照", "Unknown to the library"),
}

_FACT_LABELS = {
    "identifier": "证照标识 Identifier",
    "license_type": "证照类型 Type",
    "license_number": "证照编号 Number",
    "issuer_name": "颁发机构 Issuer",
    "issuer_code": "机构代码 Issuer code",
    "holder_name_masked": "持证主体 Holder",
    "valid_from": "有效期起 Valid from",
    "valid_until": "有效期至 Valid until",
    "status": "当前状态 Status",
    "seal_subject": "印章证书 Seal certificate",
    "seal_serial": "证书序列号 Serial",
    "signing_time": "盖章时间 Sealed at",
    "timestamp_authority": "时间戳机构 TSA",
}


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

    def finish(self) -> None:
        self._ops.append("ET")
        self.page.add("\n".join(self._ops))


def _describe(report: VerificationReport, zone: ZoneInfo) -> DocumentInfo:
    """Information dictionary and XMP metadata: the report's moment is when it was checked."""
    moment = (report.checked_at or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(zone)
    offset = moment.strftime("%z") or "+0000"
    zh, en = VERDICT_TEXT[report.verdict]
    return DocumentInfo(
        title="电子证照核验报告",
        author="trustsvc",
        subject=f"核验结论：{zh} Verdict: {en}",
        keywords=report.facts.identifier or "",
        creator="trustsvc",
        producer=PRODUCER,
        pdf_date=f"D:{moment:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'",
        iso_date=f"{moment:%Y-%m-%dT%H:%M:%S}{offset[:3]}:{offset[3:]}",
    )


def _fit(text: str, font_name: str, size: float, width: float) -> list[str]:
    """Break a long value into lines that fit (values here are codes and names)."""
    lines, current = [], ""
    for ch in text:
        if current and text_width(font_name, current + ch, size) > width:
            lines.append(current)
            current = ""
        current += ch
    return [*lines, current] if current else lines or [""]


def _value(value: object, zone: ZoneInfo) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(zone)
        return f"{chinese_date(local.date())} {local:%H:%M:%S} ({zone.key})"
    if isinstance(value, date):
        return chinese_date(value)
    return str(value)


def render_report(report: VerificationReport, font_name: str, zone: ZoneInfo) -> bytes:
    page = PdfPage(_WIDTH, _HEIGHT)
    sheet = _Sheet(page, font_name)
    sheet.colour(_INK)
    title = "电子证照核验报告"
    sheet.draw((_WIDTH - text_width(font_name, title, 22)) / 2, _HEIGHT - 90, title, 22)
    subtitle = "E-LICENSE VERIFICATION REPORT"
    sheet.draw((_WIDTH - text_width(font_name, subtitle, 10)) / 2, _HEIGHT - 110, subtitle, 10)

    zh, en = VERDICT_TEXT[report.verdict]
    sheet.colour(_GREEN if report.is_valid else _RED)
    sheet.draw(_LEFT, _HEIGHT - 160, f"核验结论：{zh}", 18)
    sheet.draw(_LEFT, _HEIGHT - 180, f"Verdict: {en} ({report.verdict.value})", 10)

    y = _HEIGHT - 212
    sheet.colour(_INK)
    if report.reasons:
        sheet.draw(_LEFT, y, "原因 Reasons", 11)
        y -= 18
        for reason in report.reasons:
            for line in _fit(f"• {reason.message_zh}", font_name, 10, _RIGHT - _LEFT):
                sheet.draw(_LEFT + 8, y, line, 10)
                y -= 14
            sheet.colour(_MUTED)
            for line in _fit(
                f"  {reason.message_en} [{reason.code}]", font_name, 8.5, _RIGHT - _LEFT
            ):
                sheet.draw(_LEFT + 8, y, line, 8.5)
                y -= 13
            sheet.colour(_INK)
            y -= 4
        y -= 8

    sheet.draw(_LEFT, y, "核验事实 Facts", 11)
    y -= 20
    for name, value in dataclasses.asdict(report.facts).items():
        if value is None:
            continue
        sheet.colour(_MUTED)
        sheet.draw(_LEFT, y, _FACT_LABELS.get(name, name), 9)
        sheet.colour(_INK)
        for line in _fit(_value(value, zone), font_name, 9.5, _RIGHT - _LEFT - 170):
            sheet.draw(_LEFT + 170, y, line, 9.5)
            y -= 14
        y -= 4

    sheet.colour(_MUTED)
    checked = _value(report.checked_at, zone) if report.checked_at else ""
    footer = f"核验时间 Checked at：{checked}    本报告由 trustsvc 核验服务生成"
    sheet.draw(_LEFT, 60, footer, 8)
    sheet.finish()
    return page.pdf(_describe(report, zone))

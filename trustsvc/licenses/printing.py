"""What a license page prints: its type's fields and its data made into a ``LicenseDocument``.

Pure: no I/O. Values are printed as on the paper documents of the national
formats: dates in one form on the whole page (2026年05月19日, as ``render``
prints the issue date and validity), numbers with their unit (18650.42万元,
89.56平方米), a headline field (the 营业执照's 统一社会信用代码) at the top
rather than in the table, and a decision's number (文号) once, as the license
number. A field that is the holder ID (``from_holder_id``) prints the holder ID.
"""

from __future__ import annotations

from datetime import date

from trustsvc.documents.render import LicenseDocument, chinese_date
from trustsvc.licenses.types import FieldKind, FieldSpec, LayoutStyle, LicenseData, LicenseType

#: The line under the title naming the holder.
HOLDER_LABEL = "持证主体"


def printed_value(spec: FieldSpec, value: str) -> str:
    """A field's value as the page prints it."""
    if spec.kind is FieldKind.DATE:
        return chinese_date(date.fromisoformat(value))
    if spec.kind is FieldKind.NUMBER and spec.unit:
        return f"{value}{spec.unit}"
    return value


def field_values(license_type: LicenseType, data: LicenseData) -> dict[str, str]:
    """Every field's value, the holder ID in place of a field that is the holder ID."""
    values = dict(data.fields)
    for spec in license_type.fields:
        # The holder ID is not kept among the fields, where it is the field's value.
        if spec.key not in values and spec.is_holder_id(data.holder_id_type):
            values[spec.key] = data.holder_id
    return values


def license_document(
    license_type: LicenseType,
    data: LicenseData,
    *,
    license_number: str,
    identifier: str,
    issuer_name: str,
    issue_date: date,
    verify_url: str,
    seal_caption: str | None = None,
) -> LicenseDocument:
    """The page of one license of ``license_type`` with validated ``data``."""
    values = field_values(license_type, data)
    shown = [f for f in license_type.layout_fields if values.get(f.key)]
    document_style = license_type.layout.style is LayoutStyle.DOCUMENT
    if document_style:
        rows = tuple(
            (f.label_zh, printed_value(f, values[f.key]))
            for f in shown
            if f.kind is not FieldKind.MULTILINE
        )
        paragraphs = tuple(
            paragraph
            for f in shown
            if f.kind is FieldKind.MULTILINE
            for paragraph in values[f.key].splitlines()
            if paragraph.strip()
        )
    else:
        rows = tuple((f.label_zh, printed_value(f, values[f.key])) for f in shown)
        paragraphs = ()
    headline = None
    headline_key = license_type.layout.headline
    if headline_key is not None and values.get(headline_key):
        spec = license_type.field(headline_key)
        headline = (spec.label_zh, printed_value(spec, values[headline_key]))
    return LicenseDocument(
        title_zh=license_type.name_zh,
        title_en=license_type.name_en,
        style="document" if document_style else "table",
        rows=rows,
        paragraphs=paragraphs,
        holder_line=f"{HOLDER_LABEL}：{data.holder_name}",
        issuer_name=issuer_name,
        issue_date=issue_date,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        license_number=license_number,
        identifier=identifier,
        verify_url=verify_url,
        seal_caption=seal_caption,
        headline=headline,
    )

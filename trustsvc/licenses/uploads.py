"""A batch file an officer uploads from a spreadsheet: its text, its columns, and its report.

Excel saves CSV as the system's code page: on a Chinese Windows that is
GB18030 (GBK), on newer versions "CSV UTF-8" with a byte order mark; other tools
write UTF-8 without one. The upload is read as UTF-8 when it is UTF-8 (a
leading byte order mark dropped), else as GB18030, else refused; UTF-16 (Excel's
"Unicode text") is refused by name. Rows are then read by the batch engine's
own CSV reader (``batch.csv_rows``: bounded lines, columns and values), and a
column may be named by its key (``holder_name``) or by its Chinese or English
label (持证主体名称), as a template made from the type names them. The per-row
report is CSV for the same spreadsheet (UTF-8 with a byte order mark, which Excel
opens as UTF-8).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trustsvc.errors import InvalidInputError
from trustsvc.licenses.batch import RowStatus, csv_rows
from trustsvc.licenses.forms import issue_form
from trustsvc.licenses.holders import HolderIdType
from trustsvc.licenses.jobs import MAX_ROWS
from trustsvc.licenses.types import LicenseType, example_data

#: The largest upload read (a job holds at most ``MAX_ROWS`` rows of a few hundred bytes).
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

_STATUS_ZH = {
    RowStatus.ISSUED: "已签发",
    RowStatus.ALREADY_ISSUED: "此前已签发",
    RowStatus.DUPLICATE: "重复，未签发",
    RowStatus.ERROR: "有误，未签发",
}


def upload_text(content: bytes) -> tuple[bytes, str]:
    """The upload as UTF-8 bytes (no byte order mark), and the encoding it was read as."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInputError(f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if content.startswith(_UTF16_BOMS):
        raise InvalidInputError("文件是 UTF-16 编码：请在 Excel 中另存为“CSV UTF-8”或“CSV”")
    if content.startswith(_UTF8_BOM):
        try:
            return content[len(_UTF8_BOM) :].decode("utf-8").encode(), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"文件标明为 UTF-8，第 {exc.start + 1} 字节却不是") from None
    try:
        content.decode("utf-8")
        return content, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030").encode(), "gb18030"
    except UnicodeDecodeError:
        raise InvalidInputError("文件既不是 UTF-8 也不是 GB18030 编码的文本") from None


def column_names(license_type: LicenseType) -> dict[str, str]:
    """Each name a column may have (key, Chinese or English label) -> the key it stands for."""
    names: dict[str, str] = {"idempotency_key": "idempotency_key"}
    for field in issue_form(license_type).fields:
        names.update({field.key: field.key, field.label_zh: field.key})
        names.setdefault(field.label_en, field.key)
    for spec in license_type.fields:
        names.setdefault(spec.key, spec.key)
        names.setdefault(spec.label_zh, spec.key)
        names.setdefault(spec.label_en, spec.key)
    names.setdefault("valid_until", "valid_until")
    names.setdefault("有效期截止日", "valid_until")
    return names


_ID_TYPE_BY_LABEL = {kind.label_zh: kind.value for kind in HolderIdType}


def read_upload(
    license_type: LicenseType, filename: str, content: bytes
) -> list[dict[str, object]]:
    """The rows of an uploaded CSV, columns named by their keys; a bad row is an error row.

    A row that cannot be read is kept as ``{"__error__": why}`` (the batch reports
    it in its place); a file that cannot be read at all is refused whole.
    """
    text, _ = upload_text(content)
    names = column_names(license_type)
    rows: list[dict[str, object]] = []
    for row in csv_rows(filename, io.BytesIO(text)):
        if len(rows) >= MAX_ROWS:
            raise InvalidInputError(f"文件超过 {MAX_ROWS} 行：请分成几批上传")
        if "__error__" in row:
            rows.append(row)
            continue
        renamed: dict[str, object] = {}
        for column, value in row.items():
            key = names.get(column, column)
            if key == "holder_id_type" and isinstance(value, str):
                # A spreadsheet may name the ID type as the form's list does.
                value = _ID_TYPE_BY_LABEL.get(value.strip(), value)
            renamed[key] = value
        rows.append(renamed)
    if not rows:
        raise InvalidInputError("文件中没有数据行（第一行是列名）")
    return rows


def template_csv(license_type: LicenseType) -> bytes:
    """A CSV to fill in: the form's labels as column names and the type's example as a row."""
    fields = issue_form(license_type).fields
    example = example_data(license_type)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f.label_zh for f in fields])
    writer.writerow([example.get(f.key, "") for f in fields])
    return _UTF8_BOM + buffer.getvalue().encode()


def report_csv(
    results: Sequence[Mapping[str, Any]], explain: Callable[[str], str] | None = None
) -> bytes:
    """A batch job's per-row report as CSV: row, outcome, number, identifier, why.

    ``explain`` words a row's error for people (``forms.row_message``); the error as the
    job keeps it follows in the ``error`` column.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["数据行", "结果", "证照编号", "证照标识", "说明", "status", "code"]
    writer.writerow([*header, "error"] if explain else header)
    for result in results:
        status = RowStatus(result["status"])
        error = str(result.get("error") or "")
        why = explain(error) if explain and error else error
        if result.get("duplicate_of_row") is not None:
            why = f"与第 {result['duplicate_of_row']} 行重复" + (f"（{why}）" if why else "")
        line = [
            result["row"],
            _STATUS_ZH[status],
            result.get("license_number", ""),
            result.get("identifier", ""),
            _spreadsheet_safe(why),
            status.value,
            result.get("code", ""),
        ]
        writer.writerow([*line, _spreadsheet_safe(error)] if explain else line)
    return _UTF8_BOM + buffer.getvalue().encode()


def status_zh(status: str) -> str:
    """A row outcome in Chinese, as the report and the page say it."""
    return _STATUS_ZH[RowStatus(status)]


def _spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would make it a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text

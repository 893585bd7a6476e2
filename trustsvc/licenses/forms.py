"""The issuing form of a license type, generated from its definition, and its messages in Chinese.

A department officer issues from a form whose every input is derived from the
type (``licenses/types``): the holder's name and ID, the validity its rule
asks for, then one input per field with its label, a hint (unit, length,
example), and the limits a browser can check before sending (required,
maxlength, pattern, the enum's choices, a date picker). The server checks the
same data with the type's own ``validate_license_data``; ``field_messages``
turns the keys it refuses into one message per field in plain Chinese, so a
refused form is shown again with each message under its input. Which keys fail
is always the type's decision; this module only words it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from trustsvc.licenses.holders import HolderIdType
from trustsvc.licenses.types import FieldKind, FieldSpec, LicenseType, ValidityRule
from trustsvc.licenses.types.data import EARLIEST_DATE, LATEST_YEARS_AHEAD
from trustsvc.licenses.types.model import HOLDER_NAME_MAX_LENGTH


class Control(StrEnum):
    """The HTML control that takes a value."""

    TEXT = "text"
    TEXTAREA = "textarea"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"


@dataclass(frozen=True)
class FormField:
    """One input of an issuing form."""

    key: str
    label_zh: str
    label_en: str
    control: Control
    required: bool
    hint_zh: str = ""
    hint_en: str = ""
    max_length: int | None = None
    #: A pattern the browser checks (HTML ``pattern``: the whole value must match).
    pattern: str | None = None
    #: (value, label) pairs of a select.
    choices: tuple[tuple[str, str], ...] = ()
    #: A check-character rule the page's script applies: "citizen-id", "credit-code".
    check: str | None = None


@dataclass(frozen=True)
class IssueForm:
    """The form that issues a license of one type."""

    type_key: str
    type_name_zh: str
    type_name_en: str
    fields: tuple[FormField, ...]
    #: A line under the form's heading on how validity is set.
    validity_zh: str
    validity_en: str


# What a browser can check of a holder ID before the server does (the check
# character is the script's, ``check``); the server's rules are in ``holders``.
_ID_PATTERNS: dict[HolderIdType, str] = {
    HolderIdType.CITIZEN_ID: "[0-9]{17}[0-9Xx]",
    HolderIdType.CREDIT_CODE: "[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}",
    HolderIdType.PASSPORT: "[A-Za-z0-9]{5,17}",
    HolderIdType.HONG_KONG_MACAO_PERMIT: "[HMhm]([0-9]{8}|[0-9]{10})",
    HolderIdType.TAIWAN_PERMIT: "[0-9]{8}|[0-9]{10}",
}
_ID_CHECKS: dict[HolderIdType, str] = {
    HolderIdType.CITIZEN_ID: "citizen-id",
    HolderIdType.CREDIT_CODE: "credit-code",
}
_ID_HINTS: dict[HolderIdType, tuple[str, str]] = {
    HolderIdType.CITIZEN_ID: ("18 位，末位为校验码（可为 X）", "18 characters, the last a check"),
    HolderIdType.CREDIT_CODE: ("18 位，末位为校验码", "18 characters, the last a check"),
    HolderIdType.PASSPORT: ("5 至 17 位字母或数字", "5 to 17 letters or digits"),
    HolderIdType.HONG_KONG_MACAO_PERMIT: ("H 或 M 开头，后接 8 或 10 位数字", "H or M, digits"),
    HolderIdType.TAIWAN_PERMIT: ("8 或 10 位数字", "8 or 10 digits"),
    HolderIdType.FOREIGN_PERMANENT_RESIDENT_ID: ("15 或 18 位", "15 or 18 characters"),
}
# A type's own pattern is given to the browser only when it means the same
# there (plain classes, counts, groups and alternation), else the server alone checks it.
_PORTABLE_PATTERN = re.compile(r"[0-9A-Za-z\[\]{}()|?*+.,\\-]*")


def issue_form(license_type: LicenseType) -> IssueForm:
    """The form for ``license_type``: holder, validity, then its fields in declared order."""
    kinds = license_type.holder_kinds
    only = kinds[0] if len(kinds) == 1 else None
    fields: list[FormField] = [
        FormField(
            "holder_name",
            "持证主体名称",
            "Holder's name",
            Control.TEXT,
            True,
            "单位全称或个人姓名",
            "Organisation's full name or person's name",
            max_length=HOLDER_NAME_MAX_LENGTH,
        ),
        FormField(
            "holder_id_type",
            "持证主体代码类型",
            "Holder ID type",
            Control.SELECT,
            True,
            choices=tuple((k.value, k.label_zh) for k in kinds),
        ),
        _holder_id_field(only),
    ]
    validity = license_type.validity
    fields.append(
        FormField(
            "valid_from",
            "有效期起始日",
            "Valid from",
            Control.DATE,
            False,
            "不填为签发当日",
            "Empty: the day of issue",
        )
    )
    if validity.rule is ValidityRule.PER_LICENSE:
        fields.append(
            FormField(
                "valid_until", "有效期截止日", "Valid until", Control.DATE, True, "含当日", ""
            )
        )
    for spec in license_type.fields:
        if only is not None and spec.is_holder_id(only):
            continue  # it is the holder ID, asked for above
        fields.append(_field(spec))
    if validity.rule is ValidityRule.FIXED_YEARS:
        validity_zh = f"有效期 {validity.years} 年，自起始日起自动计算。"
        validity_en = f"Valid for {validity.years} years from the start, computed."
    elif validity.rule is ValidityRule.OPEN_ENDED:
        validity_zh, validity_en = "长期有效。", "Valid without end."
    else:
        validity_zh, validity_en = "有效期由本证填写。", "Each license states its validity."
    return IssueForm(
        license_type.key,
        license_type.name_zh,
        license_type.name_en,
        tuple(fields),
        validity_zh,
        validity_en,
    )


def _holder_id_field(only: HolderIdType | None) -> FormField:
    hint = _ID_HINTS.get(only, ("", "")) if only is not None else ("按所选代码类型填写", "")
    return FormField(
        "holder_id",
        only.label_zh if only is not None else "持证主体代码",
        only.label_en if only is not None else "Holder ID",
        Control.TEXT,
        True,
        hint[0],
        hint[1],
        max_length=40,
        pattern=_ID_PATTERNS.get(only) if only is not None else None,
        check=_ID_CHECKS.get(only) if only is not None else None,
    )


def _field(spec: FieldSpec) -> FormField:
    hints_zh: list[str] = []
    hints_en: list[str] = []
    control = {
        FieldKind.MULTILINE: Control.TEXTAREA,
        FieldKind.DATE: Control.DATE,
        FieldKind.ENUM: Control.SELECT,
    }.get(spec.kind, Control.TEXT)
    pattern = None
    check = None
    if spec.kind is FieldKind.NUMBER:
        hints_zh.append("填数字" + (f"，单位：{spec.unit}" if spec.unit else ""))
        hints_en.append("A number" + (f", in {spec.unit}" if spec.unit else ""))
        pattern = r"[+\-]?[0-9]+(\.[0-9]+)?"
    if spec.kind is FieldKind.CREDIT_CODE:
        hints_zh.append("18 位统一社会信用代码，末位为校验码")
        hints_en.append("An 18-character credit code")
        pattern = _ID_PATTERNS[HolderIdType.CREDIT_CODE]
        check = "credit-code"
    if spec.pattern is not None and _PORTABLE_PATTERN.fullmatch(spec.pattern):
        pattern = spec.pattern
    if spec.from_holder_id is not None:
        hints_zh.append(f"持证主体为{spec.from_holder_id.label_zh}时可不填")
        hints_en.append("May be left out when it is the holder ID")
    if spec.max_length is not None and control is not Control.SELECT:
        hints_zh.append(f"最多 {spec.max_length} 字")
        hints_en.append(f"at most {spec.max_length} characters")
    if spec.kind in (FieldKind.TEXT, FieldKind.NUMBER, FieldKind.CREDIT_CODE) and spec.example:
        hints_zh.append(f"例：{spec.example}")
        hints_en.append(f"e.g. {spec.example}")
    return FormField(
        spec.key,
        spec.label_zh,
        spec.label_en,
        control,
        spec.required and spec.from_holder_id is None,
        "；".join(hints_zh),
        "; ".join(hints_en),
        max_length=spec.max_length,
        pattern=pattern,
        choices=tuple((choice, choice) for choice in spec.choices),
        check=check,
    )


def form_data(form: IssueForm, submitted: Mapping[str, str]) -> dict[str, str]:
    """The license data a submitted form gives: its fields' values, the blank ones left out."""
    data: dict[str, str] = {}
    for field in form.fields:
        value = submitted.get(field.key, "")
        if value.strip():
            data[field.key] = value
    return data


def field_messages(
    license_type: LicenseType, problems: Mapping[str, str], data: Mapping[str, object], today: date
) -> dict[str, str]:
    """One Chinese message per key the type's validation refused (``problems``, its words)."""
    labels = {f.key: f.label_zh for f in issue_form(license_type).fields}
    messages: dict[str, str] = {}
    for key, problem in problems.items():
        label = labels.get(key) or _spec_label(license_type, key) or key
        if problem == "required" or problem.startswith("required:"):
            messages[key] = f"请填写{label}"
        elif key == "holder_id":
            messages[key] = _holder_id_message(data.get("holder_id_type"), problem)
        elif key == "holder_id_type":
            messages[key] = "请从列表中选择持证主体代码类型"
        elif key == "holder_name":
            messages[key] = f"{label}有误：请写在一行内，最多 {HOLDER_NAME_MAX_LENGTH} 字"
        elif key in ("valid_from", "valid_until"):
            messages[key] = _validity_message(license_type, label, problem, today)
        elif problem.startswith("unknown key"):
            messages[key] = f"本证照类型没有“{key}”一项"
        else:
            messages[key] = _field_message(license_type.field(key), problem, today)
    return messages


def _spec_label(license_type: LicenseType, key: str) -> str | None:
    try:
        return license_type.field(key).label_zh
    except KeyError:
        return None


def _holder_id_message(id_type: object, problem: str) -> str:
    try:
        kind = HolderIdType(str(id_type).strip())
    except ValueError:
        # The type is not known here (a batch row's message): the rule's words say which.
        if "credit code" in problem:
            kind = HolderIdType.CREDIT_CODE
        elif "citizen ID" in problem:
            kind = HolderIdType.CITIZEN_ID
        else:
            return "持证主体代码不正确，请核对持证主体代码类型和号码"
    if "check" in problem:
        return f"{kind.label_zh}的校验位不对，请核对是否输错"
    return f"{kind.label_zh}格式不对：{_ID_HINTS.get(kind, ('', ''))[0]}".rstrip("：")


def _range_message(label: str, today: date) -> str:
    return (
        f"{label}超出可用范围（{EARLIEST_DATE.isoformat()} 至 "
        f"{today.year + LATEST_YEARS_AHEAD} 年），请核对"
    )


def _date_message(label: str, problem: str, today: date) -> str:
    if "no license carries" in problem:
        return _range_message(label, today)
    return f"{label}请按“年-月-日”填写，如 {today.isoformat()}"


def _validity_message(license_type: LicenseType, label: str, problem: str, today: date) -> str:
    validity = license_type.validity
    if problem.startswith("must be absent"):
        return f"{license_type.name_zh}长期有效，{label}不填"
    if validity.rule is ValidityRule.FIXED_YEARS and problem.startswith("must be"):
        return f"{label}由起始日加 {validity.years} 年自动计算，请不填"
    if "is before valid_from" in problem:
        return f"{label}不能早于有效期起始日"
    return _date_message(label, problem, today)


def _field_message(spec: FieldSpec, problem: str, today: date) -> str:
    label = spec.label_zh
    if spec.kind is FieldKind.DATE:
        return _date_message(label, problem, today)
    if "is not the holder ID" in problem:
        return f"{label}应与持证主体代码一致（可不填，签发时自动填入）"
    if spec.kind is FieldKind.NUMBER and "is not a number" in problem:
        return f"{label}请填数字，如 {spec.example}"
    if spec.kind is FieldKind.CREDIT_CODE:
        if "check" in problem:
            return f"{label}的校验位不对，请核对是否输错"
        return f"{label}格式不对：应为 18 位统一社会信用代码"
    if spec.kind is FieldKind.ENUM:
        return f"请从列表中选择{label}"
    if "at most" in problem and spec.max_length is not None:
        return f"{label}最多 {spec.max_length} 字，请删减"
    if "does not match the pattern" in problem:
        return f"{label}格式不对，例：{spec.example}"
    if "one line" in problem:
        return f"{label}请写在一行内"
    if "control characters" in problem:
        return f"{label}含有不可见的控制字符，请重新输入"
    return f"{label}含有无法使用的字符，请核对"


_DATA_PREFIX = "invalid license data: "


def problems_of(license_type: LicenseType, message: str) -> dict[str, str] | None:
    """The per-key problems in an ``InvalidLicenseDataError`` message (a batch row keeps only
    the message), or None when it is not one: split before each of the type's keys."""
    if not message.startswith(_DATA_PREFIX):
        return None
    keys = {f.key for f in issue_form(license_type).fields} | {f.key for f in license_type.fields}
    keys |= {"valid_until", "valid_from"}
    alternatives = "|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True))
    parts = re.split(rf"; (?=(?:{alternatives}): )", message[len(_DATA_PREFIX) :])
    problems: dict[str, str] = {}
    for part in parts:
        key, separator, problem = part.partition(": ")
        if not separator or key not in keys:
            return None
        problems[key] = problem
    return problems


def row_message(license_type: LicenseType, message: str, today: date) -> str:
    """A batch row's refusal in Chinese when it is the type's, else the message as it is."""
    problems = problems_of(license_type, message)
    if problems is None:
        return message
    return "；".join(field_messages(license_type, problems, {}, today).values())

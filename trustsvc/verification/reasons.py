"""The findings verification can report: stable codes, their verdict, Chinese and English text.

Each finding is a ``Reason`` named by a ``ReasonCode`` (the enum lives beside
``Reason`` and ``Verdict`` in ``report``); the verifier refers to the
module-level constants (``R.NOT_SEALED``) and to the functions for the
findings that carry a value (``too_large``, ``not_current``, ...).

Times in the sentences are for people: in the service's time zone, written
2026年12月01日 19:30 (see ``people_time``); the report's facts keep UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from trustsvc.licenses.library import EffectiveStatus, RevocationKind
from trustsvc.verification.report import Reason, ReasonCode, Verdict

_R = Verdict.PRESENTATION_REFUSED
_M, _N, _I, _X, _U, _S, _L, _C = (
    Verdict.MALFORMED_INPUT,
    Verdict.NOT_SEALED,
    Verdict.INVALID_SIGNATURE,
    Verdict.MODIFIED_AFTER_SEALING,
    Verdict.UNTRUSTED_ISSUER,
    Verdict.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED,
    Verdict.UNKNOWN_TO_LIBRARY,
    Verdict.NOT_CURRENT,
)

EMPTY = Reason(ReasonCode.EMPTY_INPUT, _M, "文件为空。", "The file is empty.")
NOT_A_PDF = Reason(ReasonCode.NOT_A_PDF, _M, "文件不是PDF文档。", "The file is not a PDF document.")
MALFORMED_STRUCTURE = Reason(
    ReasonCode.MALFORMED_PDF,
    _M,
    "PDF文档结构损坏或无法解析。",
    "The PDF structure is damaged or cannot be read.",
)
ENCRYPTED = Reason(
    ReasonCode.ENCRYPTED_PDF,
    _M,
    "文档已加密，无法核验。",
    "The document is encrypted and cannot be verified.",
)
NOT_EVALUABLE = Reason(
    ReasonCode.NOT_EVALUABLE,
    Verdict.NOT_EVALUABLE,
    "核验过程未能完成，不能认定有效，请稍后重试。",
    "Verification could not be completed; it is not valid. Try again later.",
)

TIME_LIMIT_EXCEEDED = Reason(
    ReasonCode.TIME_LIMIT_EXCEEDED,
    Verdict.NOT_EVALUABLE,
    "核验超出时间上限而中止，不能认定有效。",
    "Verification was stopped at its time limit; it is not valid.",
)
REVOCATION_UNAVAILABLE = Reason(
    ReasonCode.REVOCATION_UNAVAILABLE,
    Verdict.NOT_EVALUABLE,
    "无法取得印章证书的吊销状态，暂不能认定有效，请稍后重试。",
    "The seal certificate's revocation status could not be obtained; "
    "it is not valid for now. Try again later.",
)


def too_large(limit: int) -> Reason:
    megabytes = limit // (1024 * 1024)
    return Reason(
        ReasonCode.TOO_LARGE,
        _M,
        f"文件超过{megabytes} MB的大小上限。",
        f"The file exceeds the {megabytes} MB size limit.",
    )


NOT_SEALED = Reason(
    ReasonCode.NOT_SEALED, _N, "文档未加盖电子印章。", "The document carries no e-seal."
)
SIGNATURE_UNREADABLE = Reason(
    ReasonCode.SEAL_UNREADABLE,
    _I,
    "电子印章的签名数据无法读取。",
    "The e-seal's signature data cannot be read.",
)
BYTE_RANGE_INVALID = Reason(
    ReasonCode.BYTE_RANGE_INVALID,
    _I,
    "签名覆盖范围（ByteRange）不合法。",
    "The signature's byte range is invalid.",
)
SIGNATURE_NOT_EVALUABLE = Reason(
    ReasonCode.SEAL_NOT_EVALUABLE,
    _I,
    "电子印章签名无法验证。",
    "The e-seal's signature cannot be validated.",
)
SIGNATURE_BROKEN = Reason(
    ReasonCode.SIGNATURE_INVALID,
    _I,
    "电子印章签名值与文档内容不符。",
    "The e-seal's signature does not match the document.",
)
NO_TIMESTAMP = Reason(
    ReasonCode.TIMESTAMP_MISSING,
    Verdict.TIMESTAMP_MISSING,
    "电子印章缺少可信时间戳。",
    "The e-seal has no trusted timestamp.",
)
TIMESTAMP_BROKEN = Reason(
    ReasonCode.TIMESTAMP_INVALID, _I, "电子印章的时间戳无效。", "The e-seal's timestamp is invalid."
)
NOT_COVERED = Reason(
    ReasonCode.NOT_FULLY_COVERED,
    _X,
    "电子印章未覆盖整个文档。",
    "The e-seal does not cover the whole document.",
)
CHANGED_AFTER_SEALING = Reason(
    ReasonCode.MODIFIED_AFTER_SEALING,
    _X,
    "盖章后文档内容被修改（新增内容、页面、批注、表单或签名）。",
    "The document was changed after sealing "
    "(content, pages, annotations, form fields or signatures).",
)
BYTES_AFTER_EOF = Reason(
    ReasonCode.BYTES_AFTER_END,
    _X,
    "文档末尾附加了未签名的数据。",
    "Unsigned data was appended after the end of the document.",
)
FURTHER_SIGNATURES = Reason(
    ReasonCode.FURTHER_SIGNATURES,
    _X,
    "盖章后文档又被加签。",
    "Further signatures were added after the seal.",
)
NO_TRUST_ANCHORS = Reason(
    ReasonCode.NO_TRUST_ANCHORS,
    _U,
    "未配置信任锚，不能认定任何印章。",
    "No trust anchors are configured.",
)
UNTRUSTED_CHAIN = Reason(
    ReasonCode.UNTRUSTED_SEAL_CERTIFICATE,
    _U,
    "印章证书不能追溯到受信任的根证书。",
    "The seal certificate does not chain to a trusted root.",
)
TIMESTAMP_UNTRUSTED = Reason(
    ReasonCode.TIMESTAMP_UNTRUSTED,
    _U,
    "时间戳不是受信任的时间戳机构签发的。",
    "The timestamp is not from a trusted TSA.",
)
WRONG_ISSUER = Reason(
    ReasonCode.ISSUER_MISMATCH,
    _U,
    "加盖印章的部门不是该证照的颁发机构。",
    "The department whose seal is applied is not the license's issuer.",
)
ISSUER_NOT_ENTITLED = Reason(
    ReasonCode.ISSUER_NOT_ENTITLED,
    _U,
    "加盖印章的部门无权颁发该类证照。",
    "The sealing department is not entitled to issue licenses of this type.",
)
NOT_THE_ISSUED_DOCUMENT = Reason(
    ReasonCode.NOT_THE_ISSUED_DOCUMENT,
    _X,
    "文档与证照库中签发的文档不一致。",
    "The document differs from the one the library issued.",
)
SEAL_REVOKED = Reason(
    ReasonCode.SEAL_CERTIFICATE_REVOKED,
    _S,
    "盖章时印章证书已被吊销。",
    "The seal certificate was revoked when the seal was applied.",
)
SEAL_EXPIRED = Reason(
    ReasonCode.SEAL_CERTIFICATE_EXPIRED,
    _S,
    "盖章时印章证书不在有效期内。",
    "The seal certificate was not valid at the time of sealing.",
)
UNKNOWN_TO_LIBRARY = Reason(
    ReasonCode.UNKNOWN_TO_LIBRARY,
    _L,
    "印章有效，但证照库中没有该证照。",
    "The seal is valid, but the license is not in this library.",
)
#: The record read is not the one the transparency log says (edited in the database).
LIBRARY_RECORD_ALTERED = Reason(
    ReasonCode.LIBRARY_RECORD_ALTERED,
    Verdict.NOT_EVALUABLE,
    "证照库中的记录与透明日志的记载不符（记录可能在数据库中被改动），不能认定有效；"
    "请联系发证机关。",
    "The library's record does not match what the transparency log records for it "
    "(it may have been edited in the database); it is not valid. Contact the issuer.",
)
#: A report of this service, sealed with its verification-report seal: not a license.
VERIFICATION_REPORT = Reason(
    ReasonCode.VERIFICATION_REPORT,
    _L,
    "此文件是本服务出具的核验报告（盖核验报告专用章），不是电子证照，证照库中没有它。",
    "This file is a verification report of this service (sealed with its report seal), "
    "not a license; the library does not hold it.",
)

TOKEN_MALFORMED = Reason(
    ReasonCode.TOKEN_MALFORMED,
    _M,
    "二维码内容不是有效的核验码。",
    "The QR content is not a verification token.",
)
TOKEN_UNKNOWN_KEY = Reason(
    ReasonCode.TOKEN_UNKNOWN_KEY,
    _U,
    "核验码的签名印章不是本服务登记的印章。",
    "The token is signed by a seal this service does not know.",
)
TOKEN_SIGNATURE_INVALID = Reason(
    ReasonCode.TOKEN_SIGNATURE_INVALID,
    _I,
    "核验码签名无效或已被篡改。",
    "The token's signature is invalid or altered.",
)
TOKEN_SEAL_REVOKED = Reason(
    ReasonCode.TOKEN_SEAL_REVOKED,
    _S,
    "签署核验码时该印章已失效（印章证书已吊销或密钥已泄露）。",
    "The seal was no longer fit to sign when the token was signed "
    "(its certificate revoked, or its key compromised).",
)
#: A qualifier, not a finding: its verdict is "valid_offline", which ranks below
#: every finding; an offline answer always says what it could not check.
OFFLINE_NOT_CHECKED = Reason(
    ReasonCode.OFFLINE_NOT_CHECKED,
    Verdict.VALID_OFFLINE,
    "离线核验：仅核对了签名和印章，未联网核对印章吊销和证照状态。",
    "Offline: only the signature and the seal were checked; "
    "seal revocation and license status were not.",
)
TOKEN_EXPIRED = Reason(
    ReasonCode.TOKEN_EXPIRED,
    Verdict.PRESENTATION_EXPIRED,
    "亮证码已过期，请持证人重新出示。",
    "The presentation code has expired: ask the holder to show a fresh code.",
)
TOKEN_CONTRADICTS_LIBRARY = Reason(
    ReasonCode.TOKEN_CONTRADICTS_LIBRARY,
    _X,
    "核验码内容与证照库记录不一致。",
    "The token's content contradicts the library's record.",
)

PRESENTATION_UNKNOWN = Reason(
    ReasonCode.PRESENTATION_UNKNOWN,
    _L,
    "证照库中没有这个亮证码。",
    "The library knows no such presentation code.",
)
PRESENTATION_USED = Reason(
    ReasonCode.PRESENTATION_ALREADY_USED,
    Verdict.PRESENTATION_USED,
    "该亮证码为一次性使用，已被核验过，请持证人重新出示。",
    "This single-use presentation code has been used already: ask the holder to show a fresh code.",
)


def presentation_for(verifier: str) -> Reason:
    """The code names another verifier: it is refused here and not used up."""
    return Reason(
        ReasonCode.PRESENTATION_FOR_ANOTHER_VERIFIER,
        _R,
        f"该亮证码仅供「{verifier}」核验，请到其窗口出示。",
        f"This presentation code is for {verifier} only: have it checked there.",
    )


def presentation_purpose(purpose: str) -> Reason:
    """The code names a purpose the checker did not state (or may not state)."""
    return Reason(
        ReasonCode.PRESENTATION_PURPOSE_MISMATCH,
        _R,
        f"该亮证码仅可用于「{purpose}」，须由获准该事由的核验方说明该事由后核验。",
        f"This presentation code is only for the purpose {purpose!r}, stated by a verifier "
        "allowed it.",
    )


PRESENTATION_PURPOSE_NOT_ALLOWED = Reason(
    ReasonCode.PRESENTATION_PURPOSE_NOT_ALLOWED,
    _R,
    "核验方说明的事由不在其获准的事由之内。",
    "The checker stated a purpose it is not allowed.",
)

#: Refusals of who checks a code (not of the code itself): the code stays unused.
PRESENTATION_CHECKER_REFUSALS = frozenset(
    {
        ReasonCode.PRESENTATION_FOR_ANOTHER_VERIFIER,
        ReasonCode.PRESENTATION_PURPOSE_MISMATCH,
        ReasonCode.PRESENTATION_PURPOSE_NOT_ALLOWED,
    }
)


def people_time(moment: datetime, zone: ZoneInfo) -> str:
    """A moment for people, in the service's zone: 2026年12月01日 19:30."""
    return moment.astimezone(zone).strftime("%Y年%m月%d日 %H:%M")


def people_day(day: date) -> str:
    """A day for people: 2026年12月01日."""
    return day.strftime("%Y年%m月%d日")


def _en_time(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} ({zone.key})"


@dataclass(frozen=True)
class StatusWords:
    """A license's status for people: in Chinese, in an English sentence, as an English label."""

    zh: str
    #: As it reads in "The license is ...".
    en: str
    #: Beside the Chinese on the printed report ("已暂停 Suspended"); None: none is printed.
    label_en: str | None


#: A license's status (and a revocation's kind) in words: the one table of them, for
#: the findings' sentences, the pages and the printed report alike.
STATUS_WORDS: dict[str, StatusWords] = {
    EffectiveStatus.VALID: StatusWords("现行有效", "in force", "Current"),
    EffectiveStatus.SUSPENDED: StatusWords("已暂停", "suspended", "Suspended"),
    EffectiveStatus.REVOKED: StatusWords("已注销或吊销", "revoked", "Revoked"),
    EffectiveStatus.SUPERSEDED: StatusWords(
        "已变更，被新版本取代", "superseded by a newer version", "Superseded"
    ),
    EffectiveStatus.EXPIRED: StatusWords("已过有效期", "expired", "Expired"),
    "not_yet_valid": StatusWords("尚未生效", "not yet in force", None),
    RevocationKind.CANCELLED: StatusWords("已注销", "cancelled (注销)", "Cancelled"),
    RevocationKind.WITHDRAWN: StatusWords("已吊销", "withdrawn (吊销)", "Withdrawn"),
}
#: The same words as (Chinese, English) pairs.
STATUS_TEXT: dict[str, tuple[str, str]] = {
    key: (words.zh, words.en) for key, words in STATUS_WORDS.items()
}


def status_words(status: str, revocation_kind: str | None = None) -> tuple[str, str]:
    """A status (and a revocation's kind) in words; the code itself when unknown."""
    if status == EffectiveStatus.REVOKED and revocation_kind in STATUS_TEXT:
        return STATUS_TEXT[revocation_kind]
    return STATUS_TEXT.get(status, (status, status))


#: The code of each way a license can be out of force.
_NOT_CURRENT = {
    EffectiveStatus.SUSPENDED: ReasonCode.LICENSE_SUSPENDED,
    EffectiveStatus.REVOKED: ReasonCode.LICENSE_REVOKED,
    EffectiveStatus.SUPERSEDED: ReasonCode.LICENSE_SUPERSEDED,
    EffectiveStatus.EXPIRED: ReasonCode.LICENSE_EXPIRED,
}


@dataclass(frozen=True)
class StatusChange:
    """What the library recorded when a license stopped being in force."""

    at: datetime | None = None
    reason: str | None = None
    revocation_kind: str | None = None
    #: For a superseded license: the version now in force.
    current_identifier: str | None = None
    current_number: str | None = None


def not_current(
    status: EffectiveStatus,
    change: StatusChange | None = None,
    *,
    zone: ZoneInfo | None = None,
    valid_until: date | None = None,
) -> Reason:
    """Suspended, revoked, superseded or expired: what happened, when, why, and what now."""
    change = change or StatusChange()
    zh_status, en_status = status_words(status.value, change.revocation_kind)
    zh, en = f"证照{zh_status}", f"The license is {en_status}"
    if status is EffectiveStatus.EXPIRED and valid_until is not None:
        zh += f"（有效期至{people_day(valid_until)}）"
        en += f" (valid until {valid_until.isoformat()})"
    elif change.at is not None and zone is not None:
        zh = f"证照已于{people_time(change.at, zone)}{zh_status.removeprefix('已')}"
        en = f"The license was {en_status} on {_en_time(change.at, zone)}"
    if change.reason:
        zh += f"，原因：{change.reason}"
        en += f"; reason: {change.reason}"
    if status is EffectiveStatus.SUPERSEDED and change.current_identifier:
        zh += f"。现行版本：{change.current_identifier}（证照编号{change.current_number}）"
        en += (
            f". The version in force: {change.current_identifier} (number {change.current_number})"
        )
    return Reason(_NOT_CURRENT[status], _C, zh + "。", en + ".")


def not_yet_valid(valid_from: date) -> Reason:
    """In force only from a later day."""
    return Reason(
        ReasonCode.LICENSE_NOT_YET_VALID,
        Verdict.NOT_YET_VALID,
        f"证照尚未生效，自{people_day(valid_from)}起有效。",
        f"The license is not yet in force: valid from {valid_from.isoformat()}.",
    )

"""The findings verification can report: stable codes, their verdict, Chinese and English text."""

from __future__ import annotations

from trustsvc.licenses.library import EffectiveStatus
from trustsvc.verification.report import Reason, Verdict

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

EMPTY = Reason("empty_input", _M, "文件为空。", "The file is empty.")
NOT_A_PDF = Reason("not_a_pdf", _M, "文件不是PDF文档。", "The file is not a PDF document.")
MALFORMED_STRUCTURE = Reason(
    "malformed_pdf",
    _M,
    "PDF文档结构损坏或无法解析。",
    "The PDF structure is damaged or cannot be read.",
)
ENCRYPTED = Reason(
    "encrypted_pdf",
    _M,
    "文档已加密，无法核验。",
    "The document is encrypted and cannot be verified.",
)
NOT_EVALUABLE = Reason(
    "not_evaluable",
    _M,
    "核验过程未能完成，不能认定有效。",
    "Verification could not be completed; it is not valid.",
)

TIME_LIMIT_EXCEEDED = Reason(
    "time_limit_exceeded",
    _M,
    "核验超出时间上限而中止，不能认定有效。",
    "Verification was stopped at its time limit; it is not valid.",
)


def too_large(limit: int) -> Reason:
    megabytes = limit // (1024 * 1024)
    return Reason(
        "too_large",
        _M,
        f"文件超过{megabytes} MB的大小上限。",
        f"The file exceeds the {megabytes} MB size limit.",
    )


NOT_SEALED = Reason("not_sealed", _N, "文档未加盖电子印章。", "The document carries no e-seal.")
SIGNATURE_UNREADABLE = Reason(
    "seal_unreadable",
    _I,
    "电子印章的签名数据无法读取。",
    "The e-seal's signature data cannot be read.",
)
BYTE_RANGE_INVALID = Reason(
    "byte_range_invalid",
    _I,
    "签名覆盖范围（ByteRange）不合法。",
    "The signature's byte range is invalid.",
)
SIGNATURE_NOT_EVALUABLE = Reason(
    "seal_not_evaluable",
    _I,
    "电子印章签名无法验证。",
    "The e-seal's signature cannot be validated.",
)
SIGNATURE_BROKEN = Reason(
    "signature_invalid",
    _I,
    "电子印章签名值与文档内容不符。",
    "The e-seal's signature does not match the document.",
)
NO_TIMESTAMP = Reason(
    "timestamp_missing", _I, "电子印章缺少可信时间戳。", "The e-seal has no trusted timestamp."
)
TIMESTAMP_BROKEN = Reason(
    "timestamp_invalid", _I, "电子印章的时间戳无效。", "The e-seal's timestamp is invalid."
)
NOT_COVERED = Reason(
    "not_fully_covered",
    _X,
    "电子印章未覆盖整个文档。",
    "The e-seal does not cover the whole document.",
)
CHANGED_AFTER_SEALING = Reason(
    "modified_after_sealing",
    _X,
    "盖章后文档内容被修改（新增内容、页面、批注、表单或签名）。",
    "The document was changed after sealing "
    "(content, pages, annotations, form fields or signatures).",
)
BYTES_AFTER_EOF = Reason(
    "bytes_after_end",
    _X,
    "文档末尾附加了未签名的数据。",
    "Unsigned data was appended after the end of the document.",
)
FURTHER_SIGNATURES = Reason(
    "further_signatures",
    _X,
    "盖章后文档又被加签。",
    "Further signatures were added after the seal.",
)
NO_TRUST_ANCHORS = Reason(
    "no_trust_anchors", _U, "未配置信任锚，不能认定任何印章。", "No trust anchors are configured."
)
UNTRUSTED_CHAIN = Reason(
    "untrusted_seal_certificate",
    _U,
    "印章证书不能追溯到受信任的根证书。",
    "The seal certificate does not chain to a trusted root.",
)
TIMESTAMP_UNTRUSTED = Reason(
    "timestamp_untrusted",
    _U,
    "时间戳不是受信任的时间戳机构签发的。",
    "The timestamp is not from a trusted TSA.",
)
WRONG_ISSUER = Reason(
    "issuer_mismatch",
    _U,
    "加盖印章的部门不是该证照的颁发机构。",
    "The department whose seal is applied is not the license's issuer.",
)
ISSUER_NOT_ENTITLED = Reason(
    "issuer_not_entitled",
    _U,
    "加盖印章的部门无权颁发该类证照。",
    "The sealing department is not entitled to issue licenses of this type.",
)
NOT_THE_ISSUED_DOCUMENT = Reason(
    "not_the_issued_document",
    _X,
    "文档与证照库中签发的文档不一致。",
    "The document differs from the one the library issued.",
)
SEAL_REVOKED = Reason(
    "seal_certificate_revoked",
    _S,
    "盖章时印章证书已被吊销。",
    "The seal certificate was revoked when the seal was applied.",
)
SEAL_EXPIRED = Reason(
    "seal_certificate_expired",
    _S,
    "盖章时印章证书不在有效期内。",
    "The seal certificate was not valid at the time of sealing.",
)
UNKNOWN_TO_LIBRARY = Reason(
    "unknown_to_library",
    _L,
    "印章有效，但证照库中没有该证照。",
    "The seal is valid, but the license is not in this library.",
)

TOKEN_MALFORMED = Reason(
    "token_malformed",
    _M,
    "二维码内容不是有效的核验码。",
    "The QR content is not a verification token.",
)
TOKEN_UNKNOWN_KEY = Reason(
    "token_unknown_key",
    _U,
    "核验码的签名印章不是本服务登记的印章。",
    "The token is signed by a seal this service does not know.",
)
TOKEN_SIGNATURE_INVALID = Reason(
    "token_signature_invalid",
    _I,
    "核验码签名无效或已被篡改。",
    "The token's signature is invalid or altered.",
)
TOKEN_EXPIRED = Reason("token_expired", _C, "亮证码已过期。", "The presentation code has expired.")
TOKEN_CONTRADICTS_LIBRARY = Reason(
    "token_contradicts_library",
    _X,
    "核验码内容与证照库记录不一致。",
    "The token's content contradicts the library's record.",
)

PRESENTATION_UNKNOWN = Reason(
    "presentation_unknown",
    _L,
    "证照库中没有这个亮证码。",
    "The library knows no such presentation code.",
)
PRESENTATION_USED = Reason(
    "presentation_already_used",
    _C,
    "该亮证码为一次性使用，已被核验过。",
    "This single-use presentation code has been used already.",
)


def presentation_for(verifier: str) -> Reason:
    """The code names another verifier: it is refused here and not used up."""
    return Reason(
        "presentation_for_another_verifier",
        _C,
        f"该亮证码仅供「{verifier}」核验，请到其窗口出示。",
        f"This presentation code is for {verifier} only: have it checked there.",
    )


def presentation_purpose(purpose: str) -> Reason:
    """The code names a purpose the checker did not state (or may not state)."""
    return Reason(
        "presentation_purpose_mismatch",
        _C,
        f"该亮证码仅可用于「{purpose}」，须由获准该事由的核验方说明该事由后核验。",
        f"This presentation code is only for the purpose {purpose!r}, stated by a verifier "
        "allowed it.",
    )


PRESENTATION_PURPOSE_NOT_ALLOWED = Reason(
    "presentation_purpose_not_allowed",
    _C,
    "核验方说明的事由不在其获准的事由之内。",
    "The checker stated a purpose it is not allowed.",
)

#: Refusals of who checks a code (not of the code itself): the code stays unused.
PRESENTATION_CHECKER_REFUSALS = frozenset(
    {
        "presentation_for_another_verifier",
        "presentation_purpose_mismatch",
        "presentation_purpose_not_allowed",
    }
)

_STATUS_TEXT = {
    EffectiveStatus.REVOKED: ("已注销或吊销", "revoked"),
    EffectiveStatus.SUPERSEDED: ("已变更，被新版本取代", "superseded by a newer version"),
    EffectiveStatus.SUSPENDED: ("已暂停", "suspended"),
    EffectiveStatus.EXPIRED: ("已过有效期", "expired"),
}


def not_current(status: EffectiveStatus) -> Reason:
    zh, en = _STATUS_TEXT[status]
    return Reason(f"license_{status.value}", _C, f"证照{zh}。", f"The license is {en}.")

"""What every wallet page needs: the signed-in holder, a license as its card, why a form
was refused (in words), and the record's and grants' codes in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from trustsvc.api.pages.access import STAFF_SESSION_KEY
from trustsvc.api.routes.signin import current_holder
from trustsvc.audit.access_reading import AccessEntry
from trustsvc.audit.access_record import AccessAction, Outcome
from trustsvc.db.models import GranteeKind
from trustsvc.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RoleRefusedError,
    SignInRequiredError,
    TrustServiceError,
)
from trustsvc.holders.grants import Grant
from trustsvc.holders.portal import Holder
from trustsvc.licenses.requests import LicenseView
from trustsvc.sharing.clients import Client
from trustsvc.verification import reasons as R

#: A page of the record, as the query names it.
Cursor = Annotated[str | None, Query(max_length=96)]


async def wallet_holder(request: Request) -> Holder:
    """The signed-in holder; a visitor is sent to sign in, staff are refused."""
    try:
        return await current_holder(request)
    except AuthenticationError:
        if isinstance(request.session.get(STAFF_SESSION_KEY), dict):
            raise RoleRefusedError(
                "这是持证人本人的页面，工作人员账号不能打开 (the wallet is the holder's own: "
                "staff accounts may not open it)"
            ) from None
        raise SignInRequiredError(
            "sign in as the holder first (/auth/sign-in)", "/auth/sign-in"
        ) from None


WalletHolder = Annotated[Holder, Depends(wallet_holder)]


#: The tone (badge colour) of each status.
_TONES = {"valid": "ok", "suspended": "warn", "expired": "grey"}
_ACTIONS = {
    AccessAction.LOOKUP: ("核查持证情况", "Checked a license"),
    AccessAction.HOLDINGS: ("查询名下证照", "Listed your licenses"),
    AccessAction.VERIFY_PDF: ("核验证照文件", "Verified a license file"),
    AccessAction.VERIFY_TOKEN: ("核验二维码", "Verified a QR code"),
    AccessAction.PRESENTATION_CHECK: ("亮证核验", "Checked a code you showed"),
    AccessAction.STATUS_CHECK: ("窗口核验证照状态", "Status checked at a window"),
    AccessAction.ANNOTATED_COPY: ("窗口留存加注件", "Annotated copy kept at a window"),
    AccessAction.VERIFICATION_REPORT: ("窗口出具核验报告", "Verification report made at a window"),
    AccessAction.LOG_PROOF: ("获取存证证明", "Fetched the log proof of a license"),
}
_OUTCOMES = {Outcome.ANSWERED: ("已答复", "answered"), Outcome.REFUSED: ("已拒绝", "refused")}
_REFUSALS = {
    "purpose-refused": ("用证事由不符", "purpose not allowed"),
    "grant-refused": ("不符合授权", "not what the grant allows"),
    "rate-limited": ("尝试过多", "too many attempts"),
    "invalid-input": ("请求有误", "invalid request"),
    "forbidden": ("无权查询", "not allowed"),
}
_GRANTEE_KINDS = {
    GranteeKind.AGENT: ("代办人", "Agent"),
    GranteeKind.CLIENT: ("核验单位", "Verifier"),
    GranteeKind.DEPARTMENT: ("部门", "Department"),
}
_GRANT_STATUS = {
    "scheduled": ("未开始", "Not yet begun", "warn"),
    "current": ("生效中", "In force", "ok"),
    "ended": ("已到期", "Ended", "grey"),
    "withdrawn": ("已撤回", "Withdrawn", "grey"),
}


@dataclass(frozen=True)
class Card:
    """One license as its card shows it."""

    view: LicenseView
    status_zh: str
    status_en: str
    tone: str

    @property
    def presentable(self) -> bool:
        return self.view.status == "valid"


def card(view: LicenseView) -> Card:
    zh, en = R.status_words(view.status, view.revocation_kind)
    return Card(view, zh, en, _TONES.get(view.status, "bad"))


def purposes_of(verifiers: list[Client]) -> list[str]:
    """Every purpose some verifier may state: what a holder may choose for a code or grant."""
    return sorted({p for v in verifiers for p in v.purposes})


def departments_of(verifiers: list[Client]) -> list[tuple[str, str]]:
    """The departments that have a verifier: those a grant to a department could serve."""
    return sorted(
        {
            (v.department_code, v.department_name)
            for v in verifiers
            if v.department_code and v.department_name
        },
        key=lambda d: d[1],
    )


@dataclass(frozen=True)
class Trouble:
    """Why a form of the page was refused: in Chinese first, and the service's own words."""

    zh: str
    en: str
    detail: str
    #: The form field it is about, when one is (shown beside it as well).
    field: str | None = None


def trouble_of(what_zh: str, what_en: str, error: TrustServiceError) -> Trouble:
    if isinstance(error, InvalidInputError):
        zh, en = "填写的内容有误，请修改后重新提交", "something in the form is not right"
    elif isinstance(error, ConflictError):
        zh, en = (
            "这张证照现在不能这样使用（可能已暂停、注销或过期）",
            "the license cannot be used so now",
        )
    elif isinstance(error, NotFoundError):
        zh, en = "找不到这一项（可能已被删除，或不属于您）", "not found, or not yours"
    else:
        zh, en = "无法完成", "this cannot be done"
    return Trouble(f"{what_zh}：{zh}。", f"{what_en}: {en}.", error.message)


class Words:
    """The record's and grants' codes in words, for the templates."""

    @staticmethod
    def action(entry: AccessEntry) -> tuple[str, str]:
        return _ACTIONS.get(AccessAction(entry.action), (entry.action, entry.action))

    @staticmethod
    def outcome(entry: AccessEntry) -> tuple[str, str]:
        return _OUTCOMES.get(Outcome(entry.outcome), (entry.outcome, entry.outcome))

    @staticmethod
    def refusal(entry: AccessEntry) -> tuple[str, str]:
        code = entry.refusal or ""
        return _REFUSALS.get(code, (code, code))

    @staticmethod
    def kind(grant: Grant) -> tuple[str, str]:
        return _GRANTEE_KINDS[grant.kind]

    @staticmethod
    def grant_status(grant: Grant) -> tuple[str, str, str]:
        return _GRANT_STATUS[grant.status.value]

    @staticmethod
    def status_of(status: str) -> tuple[str, str, str]:
        return _GRANT_STATUS[status]

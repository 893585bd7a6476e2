"""What every console page needs: the officer's issuer client, the bounded form reader,
form tokens, and the words for statuses and actions.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote_to_bytes

from fastapi import Depends

from trustsvc.api.browser import CSRF_FIELD
from trustsvc.api.deps import ApiState
from trustsvc.api.pages.access import staff_with
from trustsvc.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from trustsvc.licenses import library
from trustsvc.licenses.forms import IssueForm
from trustsvc.licenses.requests import LicenseView
from trustsvc.licenses.types import LicenseType
from trustsvc.sharing.clients import Client
from trustsvc.staff.users import StaffMember, StaffRole

Officer = Annotated[StaffMember, Depends(staff_with(StaffRole.OFFICER))]

#: A form of the console: the largest type's fields, a decision's text (5,000
#: characters, nine bytes each once percent-encoded) and a little more.
FORM_LIMIT = 96 * 1024
_MAX_FIELDS = 80
_TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)

#: A license's status as the console says it: (Chinese, English, badge class).
STATUS_TEXT: dict[str, tuple[str, str, str]] = {
    "valid": ("有效", "Valid", "ok"),
    "suspended": ("已暂停", "Suspended", "warn"),
    "revoked": ("已撤销", "Revoked", "bad"),
    "superseded": ("已变更（被新版本替代）", "Superseded", "grey"),
    "expired": ("已过期", "Expired", "grey"),
}
REVOCATION_TEXT = {"cancelled": ("已注销", "Cancelled"), "withdrawn": ("已吊销", "Withdrawn")}
#: What a license's page says after an action on it.
DONE_TEXT = {
    "suspend": ("已暂停。", "Suspended."),
    "resume": ("已恢复。", "Resumed."),
    "revoke": ("已撤销。", "Revoked."),
    "change": ("已变更：以下是新版本。", "Changed: this is the new version."),
}
ACTION_TEXT: dict[str, tuple[str, str]] = {
    "issue": ("签发", "Issued"),
    "change": ("变更", "Changed"),
    "suspend": ("暂停", "Suspended"),
    "resume": ("恢复", "Resumed"),
    "revoke": ("撤销", "Revoked"),
}


@dataclass(frozen=True)
class StatusAction:
    """A status change offered on a license's page."""

    action: library.Action
    zh: str
    en: str
    #: The statuses it may start from (the library's transition table decides).
    from_statuses: frozenset[str]


STATUS_ACTIONS = {
    "suspend": StatusAction(library.Action.SUSPEND, "暂停", "Suspend", frozenset({"valid"})),
    "resume": StatusAction(library.Action.RESUME, "恢复", "Resume", frozenset({"suspended"})),
    "revoke": StatusAction(
        library.Action.REVOKE, "注销 / 吊销", "Revoke", frozenset({"valid", "suspended"})
    ),
}


# ---- what every console page needs -------------------------------------------------


def officer_client(member: StaffMember) -> tuple[Client, str]:
    """The issuer client the officer acts as, and its department's credit code."""
    client = member.client
    if client is None or client.department_code is None:
        raise ForbiddenError("this officer acts for no department; ask an administrator")
    return client, client.department_code


def actor_of(client: Client) -> str:
    """Who the events name: the client, as the API's issuer routes name it."""
    return f"api:{client.name}"


def own(client: Client, view: LicenseView) -> LicenseView:
    """The license, if it is the client's department's (as ``routes/licenses`` refuses it)."""
    if view.issuer_code != client.department_code:
        raise ForbiddenError(f"license {view.identifier} belongs to another department")
    return view


def read_form(
    body: bytes,
    allowed: Collection[str],
    *,
    max_lengths: Mapping[str, int],
    multiline: Collection[str] = (),
) -> dict[str, str]:
    """A urlencoded console form: known fields once each, UTF-8, NFC, bounded.

    As ``api.inputs.parse_form``, but with more fields (a license type has up to
    some 25) and line breaks kept in the ``multiline`` fields (a 经营范围, a
    decision's text); no other control character is accepted anywhere.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidInputError("a form body is percent-encoded ASCII") from None
    parts = [part for part in text.split("&") if part]
    if len(parts) > _MAX_FIELDS:
        raise InvalidInputError(f"a form has at most {_MAX_FIELDS} fields")
    fields: dict[str, str] = {}
    for part in parts:
        raw_name, _, raw_value = part.partition("=")
        try:
            name = unquote_to_bytes(raw_name.replace("+", " ")).decode("utf-8")
            value = unquote_to_bytes(raw_value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError("a form field is not UTF-8 text") from None
        if name not in allowed:
            raise InvalidInputError(f"unknown form field {name[:40]!r}")
        if name in fields:
            raise InvalidInputError(f"form field {name!r} is given twice")
        limit = max_lengths.get(name, 200)
        if len(value) > limit:
            raise InvalidInputError(f"form field {name!r} is longer than {limit} characters")
        value = unicodedata.normalize("NFC", value)
        kept = "\r\n\t" if name in multiline else ""
        if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in kept for ch in value):
            raise InvalidInputError(f"form field {name!r} contains control characters")
        fields[name] = value
    return fields


def form_token() -> str:
    """A new form's token: the idempotency key of what the form does when sent."""
    return secrets.token_urlsafe(32)


def checked_token(value: str | None) -> str:
    if value is None or len(value) != _TOKEN_LENGTH or not value.isascii():
        raise InvalidInputError("the form has no valid form token: reload the page")
    if not all(ch.isalnum() or ch in "-_" for ch in value):
        raise InvalidInputError("the form has no valid form token: reload the page")
    return value


def issuable_types(state: ApiState) -> list[LicenseType]:
    return sorted(state.licenses.types.values(), key=lambda t: t.key)


def form_limits(form: IssueForm) -> dict[str, int]:
    """Each field's longest value (its own limit, or a generous one), then the form's own."""
    limits = {f.key: f.max_length or 200 for f in form.fields}
    limits.update({CSRF_FIELD: 100, "form_token": 100, "action": 20, "reason": 500, "kind": 20})
    return limits


def multiline_keys(form: IssueForm) -> set[str]:
    return {f.key for f in form.fields if f.control.value == "textarea"}


def type_of(state: ApiState, type_key: str) -> LicenseType:
    license_type = state.licenses.types.get(type_key)
    if license_type is None:
        raise NotFoundError(f"no license type {type_key[:64]!r}")
    return license_type


def license_of(state: ApiState, client: Client, department: str, key: str) -> LicenseView:
    return own(client, state.licenses.show(key, department))

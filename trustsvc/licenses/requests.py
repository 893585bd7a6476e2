"""What issuing is asked and what it answers: the request, the license as its issuer
sees it, its history, and the digest an idempotency key is bound to.

Plain frozen dataclasses, shared by issuing, reading and the batch engine;
``request_digest`` hashes the canonical JSON (sorted keys, no spaces, UTF-8)
of the issuer, the type and the normalised data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from trustsvc.documents.render import LicenseDocument, RenderedLicense
from trustsvc.licenses.types import LicenseData, LicenseType

#: Who acts when no one is named (the CLI on the operator's machine).
DEFAULT_ACTOR = "operator"

#: Draws a license's page from what it prints and the font: ``render_license``, or
#: for a document the department brings (``licenses.approvals``), that document stamped.
PageMaker = Callable[[LicenseDocument, str], RenderedLicense]


@dataclass(frozen=True)
class IssueRequest:
    department_code: str
    type_key: str
    data: Mapping[str, object]
    idempotency_key: str | None = None
    actor: str = DEFAULT_ACTOR
    #: The page is drawn by this instead of ``render_license`` (an approval document).
    page: PageMaker | None = None
    #: What the page is drawn from besides the data (the approval document's digest and
    #: placement): bound to the idempotency key as the data are.
    source_digest: str | None = None


@dataclass(frozen=True)
class LicenseView:
    """A license as the library shows it to its issuer."""

    identifier: str
    license_number: str
    version: int
    type_key: str
    type_name: str
    issuer_code: str
    issuer_name: str
    holder_name: str
    holder_id_type: str
    holder_id_masked: str
    fields: dict[str, str]
    valid_from: date
    valid_until: date | None
    issued_at: datetime
    status: str
    status_reason: str | None
    sha256: str
    supersedes: str | None
    #: A revoked license's kind: "cancelled" (注销) or "withdrawn" (吊销); None: not said.
    revocation_kind: str | None = None


@dataclass(frozen=True)
class IssueResult:
    license: LicenseView
    #: False when an idempotent retry returned the license issued before.
    created: bool


@dataclass(frozen=True)
class LicenseEventView:
    """One lifecycle event of one version of a license."""

    identifier: str
    version: int
    action: str
    actor: str
    reason: str | None
    from_status: str | None
    to_status: str
    at: datetime


@dataclass(frozen=True)
class LicenseHistory:
    """Every event of every version of a license, oldest first."""

    identifier: str
    license_number: str
    issuer_code: str
    events: tuple[LicenseEventView, ...]


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def request_digest(department_code: str, license_type: LicenseType, data: LicenseData) -> str:
    """What an idempotency key is bound to: the issuer, the type and the normalised data."""
    return hashlib.sha256(
        canonical_json([department_code, license_type.key, data.as_dict()])
    ).hexdigest()


__all__ = [
    "DEFAULT_ACTOR",
    "IssueRequest",
    "IssueResult",
    "LicenseEventView",
    "LicenseHistory",
    "LicenseView",
    "PageMaker",
    "canonical_json",
    "request_digest",
]

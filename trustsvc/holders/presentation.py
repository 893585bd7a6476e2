"""Presentation codes (亮证): short-lived QR tokens a holder shows, and the record of their checks.

A code names one license, carries a nonce and an expiry (five minutes unless
configured), and optionally a purpose, the verifier it is meant for, and
single use. It is signed like the printed token, with the issuing
department's seal key, so any verifier holding the trust anchors can check
it; the library then refuses it once expired or, for a single-use code,
once used, and records every successful check so the holder can see who
looked at the license, when and why (全程留痕).

Who may check a code is the holder's choice, and enforced here and in the
verifier: a code naming a verifier (an API client of role verifier, by its
name) is checked only by that client; a code naming a purpose only by a
client allowed that purpose and stating it. The purpose recorded is the one
the checker stated. A checker the code does not admit is refused and the code
stays unused, so nobody can use up a code meant for someone else. A code
naming neither is a bearer code: whoever checks it first (a clerk's phone on
the public page included) uses up a single-use one.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.db import Database
from trustsvc.db.models import ApiClient, ClientRole, Presentation, VerificationEvent
from trustsvc.departments.seals import active_seal
from trustsvc.errors import ConflictError, InvalidInputError, PurposeRefusedError
from trustsvc.licenses import library
from trustsvc.pki.certificates import seal_key_id
from trustsvc.services import Services
from trustsvc.sharing.clients import active_verifier
from trustsvc.tokens.format import TokenClaims, TokenKind
from trustsvc.tokens.signing import sign_token
from trustsvc.verification.checkers import Checker

MIN_LIFETIME = timedelta(seconds=30)
MAX_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class PresentationCode:
    token: str
    link: str
    identifier: str
    expires_at: datetime
    single_use: bool
    purpose: str | None
    intended_verifier: str | None


def checker_named(services: Services, name: str, purpose: str | None) -> Checker:
    """Who the operator checks as: the verifier client of that name, or else itself.

    The operator holds the service's home and could act for any client anyway;
    naming a client is how a counter's workstation checks codes meant for it.
    Under any other name the operator states no purpose.
    """
    with services.database.begin() as session:
        client = active_verifier(session, name)
    if client is None:
        if (purpose or "").strip():
            raise PurposeRefusedError(
                f"{name!r} is no verifier client, so it may state no purpose; "
                "check as a verifier client allowed the purpose"
            )
        return Checker(name.strip() or "cli")
    client.stated_purpose(purpose)
    return Checker.of(client)


@dataclass(frozen=True)
class CheckRecord:
    """One successful check of a holder's license, as the holder sees it."""

    checked_at: datetime
    checked_by: str
    purpose: str | None
    verdict: str
    by_presentation: bool


def present(
    services: Services,
    identifier: str,
    *,
    actor: str,
    lifetime: timedelta | None = None,
    single_use: bool = False,
    purpose: str | None = None,
    intended_verifier: str | None = None,
) -> PresentationCode:
    """Make a presentation code for a license that is current now.

    A named verifier must be a verifier client that works now, and a named
    purpose one that it (or, naming no verifier, some verifier) may state: a
    code nobody could ever check is refused when it is made.
    """
    purpose = (purpose or "").strip() or None
    intended_verifier = (intended_verifier or "").strip() or None
    lifetime = lifetime or timedelta(seconds=services.settings.presentation_lifetime_seconds)
    if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        raise InvalidInputError("a presentation code lives between 30 seconds and 24 hours")
    now = services.clock.now()
    with services.database.begin() as session:
        _check_choice(session, purpose, intended_verifier)
        record = library.find(session, identifier.upper())
        current = library.effective_status(record, now.astimezone(services.settings.zone).date())
        if current is not library.EffectiveStatus.VALID:
            raise ConflictError(
                f"license {record.identifier} is {current.value}; it cannot be presented"
            )
        seal = active_seal(services, record.issuer_code)
        nonce = secrets.token_bytes(16)
        expires_at = now + lifetime
        session.add(
            Presentation(
                nonce=nonce.hex(),
                license_id=record.id,
                created_at=now,
                expires_at=expires_at,
                single_use=single_use,
                purpose=purpose,
                intended_verifier=intended_verifier,
                created_by=actor,
            )
        )
        claims = TokenClaims(
            identifier=record.identifier,
            type_code=record.type_code,
            issuer_code=record.issuer_code,
            valid_from=record.valid_from,
            valid_until=record.valid_until,
            content_hash=bytes.fromhex(record.sha256)[:16],
            kind=TokenKind.PRESENTATION,
            expires_at=int(expires_at.timestamp()),
            nonce=nonce,
            signed_at=int(now.timestamp()),
        )
        identifier = record.identifier
    token = sign_token(claims, seal.material.key, seal_key_id(seal.material.certificate))
    return PresentationCode(
        token=token,
        link=f"{services.settings.public_base_url}/v/{token}",
        identifier=identifier,
        expires_at=expires_at,
        single_use=single_use,
        purpose=purpose,
        intended_verifier=intended_verifier,
    )


def _check_choice(session: Session, purpose: str | None, intended_verifier: str | None) -> None:
    if intended_verifier is not None:
        verifier = active_verifier(session, intended_verifier)
        if verifier is None:
            raise InvalidInputError(f"there is no verifier named {intended_verifier!r}")
        if purpose is not None and purpose not in verifier.purposes:
            raise InvalidInputError(
                f"verifier {intended_verifier!r} may not state the purpose {purpose!r}"
            )
        return
    if purpose is not None:
        # Purposes live in each client's JSON list; a LIKE narrows the rows to read.
        candidates = session.scalars(
            select(ApiClient.purposes_json).where(
                ApiClient.role == ClientRole.VERIFIER,
                ApiClient.revoked_at.is_(None),
                ApiClient.purposes_json.contains(json.dumps(purpose, ensure_ascii=False)),
            )
        ).all()
        if not any(purpose in json.loads(text) for text in candidates):
            raise InvalidInputError(f"no verifier may state the purpose {purpose!r}")


def checks_of(database: Database, identifier: str) -> list[CheckRecord]:
    """Every recorded check of a license, oldest first (what its holder may see)."""
    with database.begin() as session:
        record = library.find(session, identifier.upper())
        events = session.scalars(
            select(VerificationEvent)
            .where(VerificationEvent.license_id == record.id)
            .order_by(VerificationEvent.id)
        ).all()
        return [
            CheckRecord(
                e.checked_at, e.checked_by, e.purpose, e.verdict, e.presentation_id is not None
            )
            for e in events
        ]


__all__ = [
    "CheckRecord",
    "PresentationCode",
    "checker_named",
    "checks_of",
    "present",
]

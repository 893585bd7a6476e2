"""Presentation codes (亮证): short-lived QR tokens a holder shows, and the record of their checks.

A code names one license, carries a nonce and an expiry (five minutes unless
configured), and optionally a purpose, the verifier it is meant for, and
single use. It is signed like the printed token, with the issuing
department's seal key, so any verifier holding the trust anchors can check
it; the library then refuses it once expired or, for a single-use code,
once used, and records every successful check so the holder can see who
looked at the license, when and why (全程留痕).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from trustsvc.db.models import Presentation, VerificationEvent
from trustsvc.departments import active_seal
from trustsvc.errors import ConflictError, InvalidInputError
from trustsvc.keys.certificates import seal_key_id
from trustsvc.licenses import library
from trustsvc.licenses.service import LicenseService
from trustsvc.verification.tokens import TokenClaims, sign_token

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


@dataclass(frozen=True)
class CheckRecord:
    """One successful check of a holder's license, as the holder sees it."""

    checked_at: datetime
    checked_by: str
    purpose: str | None
    verdict: str
    by_presentation: bool


def present(
    licenses: LicenseService,
    identifier: str,
    *,
    actor: str,
    lifetime: timedelta | None = None,
    single_use: bool = False,
    purpose: str | None = None,
    intended_verifier: str | None = None,
) -> PresentationCode:
    """Make a presentation code for a license that is current now."""
    services = licenses.services
    lifetime = lifetime or timedelta(seconds=services.settings.presentation_lifetime_seconds)
    if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        raise InvalidInputError("a presentation code lives between 30 seconds and 24 hours")
    now = services.clock.now()
    with services.database.begin() as session:
        record = library.find(session, identifier.upper())
        current = library.effective_status(record, licenses.today())
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
            kind="presentation",
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


def checks_of(licenses: LicenseService, identifier: str) -> list[CheckRecord]:
    """Every recorded check of a license, oldest first (what its holder may see)."""
    with licenses.services.database.begin() as session:
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


__all__ = ["CheckRecord", "PresentationCode", "checks_of", "present"]

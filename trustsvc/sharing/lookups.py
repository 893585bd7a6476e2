"""Cross-department lookup (数据共享): does a holder hold a current license, and which.

Every call states a purpose (用证事由) that the client is allowed, and is
answered only with licenses of the types that purpose may see (the purpose
catalogue, ``trustsvc.sharing.purposes``); a call without a purpose, with
another, or asking for a type the purpose may not see, is refused and the
refusal recorded like an answer, so the holder sees attempts too. Answers carry the minimal facts a
relying department needs, never the holder's ID number. A client refused
more often than its refusal budget allows is answered 429 instead, and only
the first such answer is recorded (see ``trustsvc.sharing.refusals``).

A lookup may be made under a holder's grant (授权, ``trustsvc.holders.grants``):
then it must pass the grant's own test as well (current, this client or its
department, this purpose, this holder), is answered with the one license the
grant names at most, and is recorded, answered or refused, with the grant's id.
The grant narrows a lookup and never widens it: the client's purposes and the
catalogue still apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from trustsvc.audit.access_record import Access, AccessAction, Outcome, Recorder
from trustsvc.db import Database
from trustsvc.db.models import LicenseRecord
from trustsvc.errors import (
    InvalidInputError,
    PurposeRefusedError,
    RateLimitedError,
    TrustServiceError,
)
from trustsvc.licenses import library
from trustsvc.licenses.holders import (
    HolderIdType,
    mask_holder_name,
    parse_holder_id_type,
    validate_holder_id,
)
from trustsvc.licenses.reading import LicenseReader
from trustsvc.pki.data_key import DataKey
from trustsvc.sharing.clients import Client
from trustsvc.sharing.purposes import types_of
from trustsvc.sharing.refusals import LIMIT_REACHED, RefusalBudget

#: More current licenses than this for one holder is not a lookup but a dump.
MAX_HOLDINGS = 200


@dataclass(frozen=True)
class SharedLicense:
    """What another department learns of a current license."""

    identifier: str
    license_type: str
    type_name: str
    license_number: str
    issuer_code: str
    issuer_name: str
    holder_name_masked: str
    valid_from: date
    valid_until: date | None
    status: str


@dataclass(frozen=True)
class LookupAnswer:
    holds: bool
    licenses: tuple[SharedLicense, ...]


class Consent(Protocol):
    """A holder's grant a lookup is made under (``trustsvc.holders.grants`` makes one)."""

    @property
    def grant_id(self) -> str:
        """The grant's public id as the caller named it (what the record keeps)."""
        ...

    def admit(self, client: Client, holder_id_digest: str, purpose: str) -> str:
        """The identifier of the one license the lookup may answer with.

        Raises a ``TrustServiceError`` when the grant does not admit this lookup.
        """
        ...


def _check_purpose(client: Client, purpose: str | None) -> str:
    stated = client.stated_purpose(purpose)
    if stated is None:
        raise PurposeRefusedError("a purpose (用证事由) is required for every lookup")
    return stated


def _visible_types(database: Database, purpose: str, type_key: str | None) -> frozenset[str]:
    """The types a lookup under ``purpose`` may return; refused when it may not see ``type_key``."""
    with database.begin() as session:
        visible = types_of(session, purpose)
    if visible is None:
        # Made before the catalogue and never migrated, or removed: fail closed.
        raise PurposeRefusedError(f"the purpose {purpose!r} is not in the purpose catalogue")
    if type_key is not None and type_key not in visible:
        raise PurposeRefusedError(
            f"the purpose {purpose!r} may not see licenses of type {type_key!r}"
        )
    return visible


def lookup(
    database: Database,
    data_key: DataKey,
    licenses: LicenseReader,
    client: Client,
    *,
    holder_id: str,
    holder_id_type: str | None,
    purpose: str | None,
    record: Recorder,
    type_key: str | None = None,
    refusals: RefusalBudget | None = None,
    grant: Consent | None = None,
) -> LookupAnswer:
    """The holder's current licenses (of ``type_key`` if given); recorded either way.

    Under a ``grant``, only the license it names, and only if it admits the lookup.
    """
    action = AccessAction.LOOKUP if type_key else AccessAction.HOLDINGS
    digest: str | None = None
    grant_id = grant.grant_id if grant is not None else None
    only: str | None = None
    try:
        id_type = parse_holder_id_type(holder_id_type or infer_holder_id_type(holder_id))
        normalised = validate_holder_id(id_type, holder_id)
        digest = data_key.digest(id_type.value, normalised)
        stated = _check_purpose(client, purpose)
        if type_key is not None and type_key not in licenses.types:
            raise InvalidInputError(f"unknown license type {type_key!r}")
        visible = _visible_types(database, stated, type_key)
        if grant is not None:
            only = grant.admit(client, digest, stated)
    except TrustServiceError as exc:
        overdrawn = refusals.spend(client.id) if refusals is not None else None
        if overdrawn is None or overdrawn.first:
            record(
                client,
                Access(
                    action,
                    Outcome.REFUSED,
                    purpose=(purpose or "").strip()[:200] or None,
                    refusal=exc.code if overdrawn is None else LIMIT_REACHED,
                    holder_id_digest=digest,
                    license_type=type_key,
                    grant_id=grant_id,
                ),
            )
        if refusals is not None and overdrawn is not None:
            raise RateLimitedError(
                f"more than {refusals.per_minute} refused lookups a minute; "
                f"further ones are not recorded one by one ({exc.code})",
                overdrawn.retry_after,
            ) from exc
        raise
    with database.begin() as session:
        records = library.search(
            session,
            library.LicenseQuery(
                type_key=type_key,
                type_keys=tuple(sorted(visible)),
                holder_id_digest=digest,
                effective_status=library.EffectiveStatus.VALID,
                today=licenses.today(),
                limit=MAX_HOLDINGS,
            ),
        )
        shared = tuple(
            _shared(licenses, record)
            for record in records
            if only is None or record.identifier == only
        )
    answer = LookupAnswer(holds=bool(shared), licenses=shared)
    record(
        client,
        Access(
            action,
            Outcome.ANSWERED,
            purpose=stated,
            holder_id_digest=digest,
            license_type=type_key,
            returned=[s.identifier for s in shared],
            answer="holds" if answer.holds else "holds none",
            grant_id=grant_id,
        ),
    )
    return answer


def _shared(licenses: LicenseReader, record: LicenseRecord) -> SharedLicense:
    license_type = licenses.types.get(record.type_key)
    return SharedLicense(
        identifier=record.identifier,
        license_type=record.type_key,
        type_name=license_type.name_zh if license_type else record.type_key,
        license_number=record.license_number,
        issuer_code=record.issuer_code,
        issuer_name=record.department.name,
        holder_name_masked=mask_holder_name(record.holder_name, record.holder_id_type),
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        status=library.EffectiveStatus.VALID.value,
    )


def infer_holder_id_type(holder_id: str) -> str:
    """The ID type a bare holder ID must be: an 18-character code is a credit code or citizen ID."""
    value = holder_id.strip().upper()
    for kind in (HolderIdType.CITIZEN_ID, HolderIdType.CREDIT_CODE):
        try:
            validate_holder_id(kind, value)
        except InvalidInputError:
            continue
        return kind.value
    raise InvalidInputError(
        "holder_id is neither a citizen ID number nor a credit code; give holder_id_type"
    )


__all__ = ["Consent", "LookupAnswer", "SharedLicense", "infer_holder_id_type", "lookup"]

"""Library checks: the library's word on a license (in force, or what happened to it),
and whether the department that sealed it was entitled to its type."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from functools import lru_cache

from trustsvc.licenses import library
from trustsvc.licenses.entitlement import type_by_code
from trustsvc.licenses.holders import mask_holder_name
from trustsvc.verification import reasons as R
from trustsvc.verification.chains import TrustChecks
from trustsvc.verification.library import (
    Entry,
    as_utc,
)
from trustsvc.verification.report import Facts, Reason

EXPIRED = library.EffectiveStatus.EXPIRED


#: The status shown for a license in force only from a later day (not a stored status).
NOT_YET_VALID_STATUS = "not_yet_valid"


class LibraryChecks(TrustChecks):
    """Checks against the library lookup (online only)."""

    def _check_status(
        self, facts: Facts, record: Entry, today: date, findings: list[Reason]
    ) -> Facts:
        """The library's word on a license: in force, or what happened to it and when.

        Only a record its latest log entry vouches for is taken at its word; any
        other is reported (not evaluable; the API counts it) and nothing else of it is used.
        """
        if not record.log_bound:
            return self._altered(facts, record, findings)
        current = library.effective_status(record, today)
        facts = _library_facts(facts, record, current)
        if current is library.EffectiveStatus.VALID:
            if record.valid_from > today:
                findings.append(R.not_yet_valid(record.valid_from))
                return replace(facts, status=NOT_YET_VALID_STATUS)
            return facts
        change = R.StatusChange()
        if current is not library.EffectiveStatus.EXPIRED:
            change = R.StatusChange(
                at=as_utc(record.status_changed_at) if record.status_changed_at else None,
                reason=record.status_reason,
                revocation_kind=record.revocation_kind,
            )
            if current is library.EffectiveStatus.SUPERSEDED:
                change = self._with_current_version(change, record.license_id)
        findings.append(
            R.not_current(current, change, zone=self.trust.zone, valid_until=record.valid_until)
        )
        return replace(
            facts,
            status_since=change.at,
            status_reason=change.reason,
            revocation_kind=change.revocation_kind,
            current_identifier=change.current_identifier,
            current_number=change.current_number,
        )

    def _altered(self, facts: Facts, record: Entry, findings: list[Reason]) -> Facts:
        """A record its log entry does not vouch for: nothing the library says of it is
        taken (not its status, holder or dates, not a comparison with it), only that."""
        findings.append(R.LIBRARY_RECORD_ALTERED)
        return replace(facts, identifier=record.identifier)

    def _with_current_version(self, change: R.StatusChange, license_id: int) -> R.StatusChange:
        """Follow the changes from a superseded version to the one that replaced it last."""
        current = self._library().current_version(license_id)
        return replace(
            change,
            current_identifier=current.identifier,
            current_number=current.license_number,
        )

    def _check_entitlement(
        self,
        type_code: str,
        issuer_code: str | None,
        moment: datetime,
        findings: list[Reason],
    ) -> None:
        """Sealed by a department not entitled to the type at the time it was sealed?

        The rule is the one issuance applies (``trustsvc.licenses.issuers``);
        a department or type the service does not know is left to the other checks.
        """
        license_type = type_by_code(type_code)
        if license_type is None or issuer_code is None:
            return
        if self._library().entitled(license_type.key, issuer_code, moment) is False:
            findings.append(R.ISSUER_NOT_ENTITLED)

    def _check_library_entitlement(
        self, record: Entry, issuer_code: str, findings: list[Reason], now: datetime | None = None
    ) -> None:
        """A library license is judged as of the issuance the library recorded (when the
        answer depends on the time at all: only then is that time read)."""
        now = now or self.trust.clock.now()
        if self._library().entitled(record.type_key, issuer_code, now, record.license_id) is False:
            findings.append(R.ISSUER_NOT_ENTITLED)


@lru_cache(maxsize=4096)
def _masked_name(name: str, id_type: str) -> str:
    """``mask_holder_name``, once per name: the same licenses are checked over and over."""
    return mask_holder_name(name, id_type)


def _library_facts(facts: Facts, record: Entry, current: library.EffectiveStatus) -> Facts:
    """The seal's facts, completed with what the library knows of the license."""
    # Every field named (not ``dataclasses.replace``, which is slow on this hot path).
    return Facts(
        identifier=record.identifier,
        license_type=record.type_key,
        license_number=record.license_number,
        issuer_name=record.issuer_name,
        issuer_code=record.issuer_code,
        seal_subject=facts.seal_subject,
        seal_serial=facts.seal_serial,
        signing_time=facts.signing_time,
        timestamp_authority=facts.timestamp_authority,
        holder_name_masked=_masked_name(record.holder_name, record.holder_id_type),
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        status=current.value,
        status_since=facts.status_since,
        status_reason=facts.status_reason,
        revocation_kind=facts.revocation_kind,
        current_identifier=facts.current_identifier,
        current_number=facts.current_number,
        log_index=record.log_index,
    )

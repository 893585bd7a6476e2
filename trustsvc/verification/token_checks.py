"""Token checks: a QR token's signature, its seal's trust and issuer, its dates, what the
library says of the license it names, and a presentation code's own rules."""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime

from trustsvc.errors import InvalidInputError
from trustsvc.tokens.decoding import parse_token
from trustsvc.tokens.format import ParsedToken, license_content_hash
from trustsvc.tokens.signature import signature_is_valid_for
from trustsvc.verification import reasons as R
from trustsvc.verification.chains import PublishedSeal
from trustsvc.verification.checkers import Checker, admits
from trustsvc.verification.library import (
    Entry,
    as_utc,
)
from trustsvc.verification.library_checks import EXPIRED, LibraryChecks
from trustsvc.verification.recording import PresentationUse
from trustsvc.verification.report import Facts, Reason

#: Licenses whose content hash a verifier keeps (cleared when full).
_CONTENT_HASH_CACHE = 4096
#: Printed tokens whose signature a verifier has checked and keeps (cleared when full).
_VERIFIED_TOKEN_CACHE = 4096


class TokenChecks(LibraryChecks):
    """The checks of a QR token (a license's printed code or a presentation code)."""

    def _verify_token(
        self,
        token: str | ParsedToken,
        offline: bool,
        findings: list[Reason],
        checked_by: Checker,
        purpose: str | None,
        uses: list[PresentationUse],
    ) -> Facts:
        text = None
        if isinstance(token, ParsedToken):
            parsed = token  # decoded by the caller already (tokens.try_parse_token)
        else:
            text = token.strip()
            known = self._decoded_tokens.get(text)
            if known is not None:
                parsed = known
            else:
                try:
                    parsed = parse_token(text)
                except InvalidInputError:
                    findings.append(R.TOKEN_MALFORMED)
                    return Facts()
        claims = parsed.claims
        if claims.kind not in ("license", "presentation"):
            findings.append(R.TOKEN_MALFORMED)
            return Facts()
        facts = Facts(
            identifier=claims.identifier,
            issuer_code=claims.issuer_code,
            valid_from=claims.valid_from,
            valid_until=claims.valid_until,
        )
        seal = self._published_seal(parsed.kid)
        if seal is None:
            findings.append(R.TOKEN_UNKNOWN_KEY)
            return facts
        signed = (parsed.to_be_signed, parsed.signature)
        if self._verified_tokens.get(signed) != seal.fingerprint:
            if not signature_is_valid_for(parsed, seal.public_key):
                findings.append(R.TOKEN_SIGNATURE_INVALID)
                return facts
            if claims.kind == "license":
                self._remember_verified(signed, seal.fingerprint, text, parsed)
        if not self._issued_by_a_trusted_ca(seal):
            findings.append(R.UNTRUSTED_CHAIN)
        if seal.credit_code != claims.issuer_code:
            findings.append(R.WRONG_ISSUER)
        now = self.trust.clock.now()
        if claims.expires_at is not None and claims.expires_at < now.timestamp():
            findings.append(R.TOKEN_EXPIRED)
        # Built anew rather than replaced: ``dataclasses.replace`` costs a token check
        # more than the rest of this function does.
        facts = Facts(
            identifier=claims.identifier,
            issuer_code=claims.issuer_code,
            valid_from=claims.valid_from,
            valid_until=claims.valid_until,
            seal_subject=seal.subject,
            seal_serial=seal.serial_hex,
        )
        today = now.astimezone(self.trust.zone).date()
        if offline:
            # The dates are in the token: they are checked offline too.
            if claims.valid_until is not None and claims.valid_until < today:
                findings.append(R.not_current(EXPIRED, valid_until=claims.valid_until))
            elif claims.valid_from > today:
                findings.append(R.not_yet_valid(claims.valid_from))
            # Said in words: the signature holds, but nobody asked the library.
            findings.append(R.OFFLINE_NOT_CHECKED)
            return facts
        record, revocation = self._library().token_entry(claims.identifier, seal.fingerprint.hex())
        matches = record is not None and _token_matches(
            parsed, seal, record, self._license_content_hash(record, parsed.version)
        )
        if revocation is not None and revocation.refuses(_signing_time(parsed, record, matches)):
            findings.append(R.TOKEN_SEAL_REVOKED)
        if matches and record is not None and record.issued_at is not None:
            # The token is the license's own: it was sealed when the library issued it
            # (with a trusted timestamp, checked then), which is the time people are shown.
            facts = Facts(
                identifier=claims.identifier,
                issuer_code=claims.issuer_code,
                valid_from=claims.valid_from,
                valid_until=claims.valid_until,
                seal_subject=seal.subject,
                seal_serial=seal.serial_hex,
                signing_time=as_utc(record.issued_at),
            )
        if record is None:
            # A token names no time; one the library does not know is judged as of now.
            self._check_entitlement(claims.type_code, claims.issuer_code, now, findings)
            findings.append(R.UNKNOWN_TO_LIBRARY)
            return facts
        if not record.log_bound:
            return self._altered(facts, record, findings)
        self._check_library_entitlement(record, claims.issuer_code, findings, now)
        if not matches:
            findings.append(R.TOKEN_CONTRADICTS_LIBRARY)
        library_facts = self._check_status(facts, record, today, findings)
        if claims.kind == "presentation" and not self._check_presentation(
            claims.nonce, record, findings, checked_by, purpose, uses
        ):
            return facts  # what the code itself says, not the library's facts
        return library_facts

    def _check_presentation(
        self,
        nonce: bytes | None,
        record: Entry,
        findings: list[Reason],
        checker: Checker,
        purpose: str | None,
        uses: list[PresentationUse],
    ) -> bool:
        """Refuse an unknown or expired code, or a checker it does not admit; note a
        successful check in ``uses`` for the caller to record (and to use up a
        single-use code). False when the checker may not see the license."""
        now = self.trust.clock.now()
        lookup = self._library()
        code = lookup.presentation((nonce or b"").hex())
        if code is None or code.license_id != record.license_id:
            findings.append(R.PRESENTATION_UNKNOWN)
            return True
        if code.expires_at < now and R.TOKEN_EXPIRED not in findings:
            findings.append(R.TOKEN_EXPIRED)
        stated = (purpose or "").strip() or None
        refusals = admits(checker, code.purpose, code.intended_verifier, stated)
        findings.extend(refusals)
        if findings:
            return not refusals  # a refused code is not used up
        # Recorded (and a single-use code used up) by the caller: see ``check_token``.
        uses.append(PresentationUse(code, now, checker.name, stated))
        return True

    def _remember_verified(
        self,
        signed: tuple[bytes, bytes],
        fingerprint: bytes,
        text: str | None,
        parsed: ParsedToken,
    ) -> None:
        """Keep a printed token whose signature held, so that its next scan skips the
        decoding and the signature (the seal's trust, revocation and the library are
        asked anew).

        Only printed license tokens: a presentation code is shown once or twice. Keyed
        by everything signed and the signature itself, or by the very text decoded, so
        only the same bytes match; a text nobody could sign is never kept.
        """
        if len(self._verified_tokens) >= _VERIFIED_TOKEN_CACHE:
            self._verified_tokens.clear()
            self._decoded_tokens.clear()
        self._verified_tokens[signed] = fingerprint
        if text is not None:
            self._decoded_tokens[text] = parsed

    def _license_content_hash(self, record: Entry, version: int) -> bytes | None:
        """What a printed token's content hash must be for this record (None: unreadable);
        the token's version says what the hash covers."""
        key = (record.license_id, record.sha256, version)
        cached = self._content_hashes.get(key)
        if cached is None:
            try:
                fields = json.loads(record.fields_json)
            except ValueError:
                return None
            facts: dict[str, str] = {
                "holder_name": record.holder_name,
                "holder_id_type": record.holder_id_type,
                "holder_id": record.holder_id_digest,
                "valid_from": record.valid_from.isoformat(),
            }
            if record.valid_until is not None:
                facts["valid_until"] = record.valid_until.isoformat()
            facts.update(fields)
            cached = license_content_hash(record.identifier, record.type_code, facts, version)
            if len(self._content_hashes) >= _CONTENT_HASH_CACHE:
                self._content_hashes.clear()
            self._content_hashes[key] = cached
        return cached


def _token_matches(
    parsed: ParsedToken, seal: PublishedSeal, record: Entry, license_hash: bytes | None
) -> bool:
    """Whether a token says what the library says of the license it names.

    A printed token must also be signed by the seal that sealed the license;
    its content hash covers the license's facts (``license_content_hash``).
    A presentation code is signed by the department's seal of the day, and
    its hash is that of the sealed document.
    """
    claims = parsed.claims
    if record.issuer_code != claims.issuer_code or (record.valid_from, record.valid_until) != (
        claims.valid_from,
        claims.valid_until,
    ):
        return False
    if claims.kind == "presentation":
        return hmac.compare_digest(bytes.fromhex(record.sha256)[:16], claims.content_hash)
    if record.seal_serial_hex != seal.serial_hex or license_hash is None:
        return False
    return hmac.compare_digest(license_hash, claims.content_hash)


def _signing_time(parsed: ParsedToken, record: Entry | None, matches: bool) -> datetime | None:
    """When a token was signed: its own word (version 2), else the library's.

    A version 1 token carries no time; when it is exactly the printed token
    of a license in the library, the library's issuance time is when it was
    signed. Anything else cannot be dated.
    """
    signed_at = parsed.claims.signed_at
    if signed_at is not None:
        return datetime.fromtimestamp(signed_at, UTC)
    if record is not None and matches and parsed.claims.kind == "license":
        return as_utc(record.issued_at)
    return None

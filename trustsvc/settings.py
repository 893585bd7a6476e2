"""Settings, read from ``TRUSTSVC_*`` environment variables when asked to.

Nothing here runs at import time: callers build a ``Settings`` (the CLI from
the environment, tests explicitly) and pass it down. Development defaults let
``trustsvc serve`` run out of the box; production mode refuses every one of
them, so a careless deployment fails at start rather than later in the field.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trustsvc.errors import ConfigurationError, TrustServiceError

#: The passphrase used when none is configured. Anyone can read it here, so
#: production mode refuses it.
DEVELOPMENT_PASSPHRASE = "trustsvc-development-passphrase"  # noqa: S105

#: RFC 5612's arc for documentation examples (IANA PEN 32473): a placeholder
#: that can never name a real policy, so production mode refuses it.
DOCUMENTATION_OID_ARC = "1.3.6.1.4.1.32473"

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]{0,38})){1,40}$")


class DocumentStoreKind(StrEnum):
    FOLDER = "folder"
    DATABASE = "database"


class KeyAlgorithm(StrEnum):
    EC_P256 = "ec-p256"
    RSA_3072 = "rsa-3072"


class Settings(BaseSettings):
    """Everything the service needs to know about its deployment."""

    model_config = SettingsConfigDict(env_prefix="TRUSTSVC_", extra="ignore", frozen=True)

    home: Path = Field(default=Path("var"), description="Data directory: PKI, keys, documents.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in the home."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base of every URL written into certificates and QR codes.",
    )
    key_passphrase: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_PASSPHRASE),
        description="Encrypts every private key stored in the home.",
    )
    production: bool = Field(default=False, description="Refuse development defaults.")
    development_sign_in: bool = Field(
        default=False,
        description="Built-in holder sign-in for development: anyone who reaches it signs in as "
        "any holder, so it is off unless set (scripts/run.sh sets it) and refused in production.",
    )
    organisation_name: str = Field(
        default="trustsvc", min_length=1, max_length=64, description="Operator named in the PKI."
    )
    organisation_credit_code: str | None = Field(
        default=None,
        description="The operator's unified social credit code (GB 32100), named in its "
        "verification-report seal as organizationIdentifier NTRCN-<code>.",
    )
    key_algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256
    tsa_url: str | None = Field(
        default=None, description="External RFC 3161 TSA; the built-in one when unset."
    )
    seal_key_store: Literal["file", "pkcs11"] = Field(
        default="file",
        description="Where department seal keys are made and kept: encrypted files in the home, "
        "or a PKCS#11 token (an HSM; SoftHSM2 in development).",
    )
    pkcs11_module: Path = Field(
        default=Path("/usr/lib/softhsm/libsofthsm2.so"), description="The PKCS#11 library."
    )
    pkcs11_token: str = Field(
        default="trustsvc", description="Label of the token holding seal keys."
    )
    pkcs11_pin: SecretStr | None = Field(default=None, description="User PIN of that token.")
    document_store: DocumentStoreKind = Field(
        default=DocumentStoreKind.FOLDER,
        description="Where sealed PDFs are kept: a folder in the home, or the database "
        "(so that several nodes share one library).",
    )
    cjk_font: Path | None = Field(
        default=None,
        description="A .ttf/.otf CJK font for documents; found on the system if unset.",
    )
    seal_profile: Literal["B-T", "B-LT", "B-LTA"] = Field(
        default="B-LT", description="PAdES level of issued licenses."
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="Where dates on licenses are reckoned (today, expiry)."
    )
    presentation_lifetime_seconds: Annotated[int, Field(ge=30, le=86400)] = Field(
        default=300, description="How long a presentation code (亮证) is accepted."
    )
    crl_lifetime_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 24
    ocsp_lifetime_hours: Annotated[int, Field(ge=1, le=24 * 7)] = 12
    verification_processes: Annotated[int, Field(ge=1, le=64)] = Field(
        default=2,
        description="Child processes per serving process that verify uploaded PDFs, each "
        "bounded in time and memory.",
    )
    api_rate_limit_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=1200, description="Requests a minute per API client, unless set on the client."
    )
    refusal_rate_limit_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=30,
        description="Refused lookups (and refused presentation checks) a minute per API "
        "client; beyond them 429, and one record row instead of one per attempt.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="The operator's OpenID Connect provider for holder sign-in "
        "(its /.well-known/openid-configuration is read).",
    )
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_id_number_claim: str = Field(
        default="id_number", description="The ID token claim carrying the holder's ID number."
    )
    oidc_id_type_claim: str = Field(
        default="id_type",
        description="The claim carrying the holder ID type code; citizen ID (111) when absent.",
    )
    holder_session_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = Field(
        default=30, description="How long a holder stays signed in."
    )
    staff_session_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = Field(
        default=8 * 60, description="How long a member of staff stays signed in (a working day)."
    )
    public_rate_limit_per_minute: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        default=600,
        description="Requests a minute per client address to the routes anyone may call "
        "without a key (/public/..., /v/...); 0 turns the limit off.",
    )
    public_rate_limit_burst: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        default=300, description="How many of those an address may make at once."
    )
    pki_rate_limit_per_minute: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        default=6000,
        description="Requests a minute per client address to /pki/* (OCSP, TSA, CRLs, "
        "certificates), which relying parties call often; 0 turns the limit off.",
    )
    pki_rate_limit_burst: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        default=1000, description="How many of those an address may make at once."
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed (empty: none).",
    )
    header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10.0,
        description="A connection that has not sent a whole request head (request line and "
        "headers) this long after it opened or after its last response is closed.",
    )
    max_header_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = Field(
        default=16 * 1024,
        description="Largest request head (request line and headers) accepted; larger gets 431.",
    )
    oid_arc: str = Field(
        default=DOCUMENTATION_OID_ARC,
        description="The operator's own OID arc (e.g. under its IANA private enterprise number); "
        "the certificate policy is <arc>.1.1 and the TSA policy <arc>.2.1. The default is "
        "RFC 5612's documentation arc, which production mode refuses.",
    )
    certificate_policy_oid: str | None = Field(
        default=None,
        description="The policy OID put in certificatePolicies of every certificate the PKI "
        "issues (the operator's CP/CPS); <arc>.1.1 when unset.",
    )
    pki_base_url: str | None = Field(
        default=None,
        description="Base of the CRL, OCSP and CA-certificate URLs written into certificates; "
        "TRUSTSVC_PUBLIC_BASE_URL when unset. ETSI EN 319 412-2 wants them http:// (signed "
        "objects; no TLS check that would itself need revocation data).",
    )
    ocsp_responder_lifetime_hours: Annotated[int, Field(ge=2, le=24 * 31)] = Field(
        default=7 * 24,
        description="Life of the OCSP responder certificate (RFC 6960 §4.2.2.2.1: short, as it "
        "carries ocsp-nocheck); each serving process renews its own past half of it.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return ",".join(entries)

    tsa_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = Field(
        default=5.0,
        description="How long an external TSA may take to answer before issuance fails "
        "with 503 tsa-unavailable.",
    )
    store_sweep_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = Field(
        default=60,
        description="How often each serving process sweeps the document store for documents "
        "no license was recorded for (0: only at start and by `trustsvc store sweep`).",
    )
    store_sweep_grace_minutes: Annotated[int, Field(ge=5, le=30 * 24 * 60)] = Field(
        default=60,
        description="The sweep never removes a document younger than this: longer than any "
        "issuing transaction.",
    )

    @field_validator("oid_arc", "certificate_policy_oid")
    @classmethod
    def _dotted_oid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _OID.fullmatch(value) or (value[0] in "01" and int(value.split(".")[1]) > 39):
            raise ValueError(f"{value!r} is not an object identifier in dotted decimal form")
        return value

    @model_validator(mode="after")
    def _answers_end_before_their_signer(self) -> Settings:
        # Renewed at half its life, the responder certificate then still covers
        # every answer it signs (RFC 6960: nextUpdate within the signer's validity).
        if self.ocsp_responder_lifetime_hours < 2 * self.ocsp_lifetime_hours:
            raise ValueError(
                "TRUSTSVC_OCSP_RESPONDER_LIFETIME_HOURS must be at least twice "
                "TRUSTSVC_OCSP_LIFETIME_HOURS"
            )
        return self

    @property
    def certificate_policy(self) -> str:
        """The policy OID the PKI's certificates carry."""
        return self.certificate_policy_oid or f"{self.oid_arc}.1.1"

    @property
    def tsa_policy(self) -> str:
        """The policy OID of the built-in TSA's tokens (RFC 3161 TSTInfo.policy)."""
        return f"{self.oid_arc}.2.1"

    @property
    def pki_url_base(self) -> str:
        return self.pki_base_url or self.public_base_url

    @field_validator("public_base_url", "tsa_url", "oidc_issuer", "pki_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("organisation_credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from trustsvc.codes.identifiers import validate_credit_code

        try:
            return validate_credit_code(value)
        except TrustServiceError as exc:
            raise ValueError(exc.message) from exc

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'trustsvc.db').resolve()}"

    @property
    def public_base_url_is_set(self) -> bool:
        """Whether the public URL was given (TRUSTSVC_PUBLIC_BASE_URL), not left at its default."""
        return "public_base_url" in self.model_fields_set

    def with_public_base_url(self, url: str) -> Settings:
        """These settings with ``url`` as the public URL (one derived, not configured)."""
        return self.model_copy(update={"public_base_url": url.rstrip("/")})

    def development_defaults_in_use(self) -> list[str]:
        """Which development defaults these settings still rely on."""
        found = []
        if self.key_passphrase.get_secret_value() == DEVELOPMENT_PASSPHRASE:
            found.append("TRUSTSVC_KEY_PASSPHRASE is the development passphrase")
        if self.development_sign_in:
            found.append("TRUSTSVC_DEVELOPMENT_SIGN_IN is on")
        if not self.public_base_url_is_set:
            found.append(
                "TRUSTSVC_PUBLIC_BASE_URL is not set (it must be the service's public https:// "
                "address, which every certificate and QR code names)"
            )
        elif not self.public_base_url.startswith("https://"):
            found.append("TRUSTSVC_PUBLIC_BASE_URL is not https://")
        if self.oidc_issuer is not None and self.oidc_client_id is None:
            found.append("TRUSTSVC_OIDC_ISSUER is set without TRUSTSVC_OIDC_CLIENT_ID")
        if self.seal_key_store == "pkcs11" and self.pkcs11_pin is None:
            found.append("TRUSTSVC_PKCS11_PIN is not set")
        for name, oid in (
            ("TRUSTSVC_OID_ARC", self.oid_arc),
            ("TRUSTSVC_CERTIFICATE_POLICY_OID", self.certificate_policy),
        ):
            if oid == DOCUMENTATION_OID_ARC or oid.startswith(DOCUMENTATION_OID_ARC + "."):
                found.append(
                    f"{name} is under RFC 5612's documentation arc {DOCUMENTATION_OID_ARC}"
                )
                break
        return found

    def check_production(self) -> None:
        """Raise when production mode is on and a development default is left."""
        if not self.production:
            return
        problems = self.development_defaults_in_use()
        if problems:
            raise ConfigurationError(
                "production mode refuses development defaults: " + "; ".join(problems)
            )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]


def development_base_url(host: str, port: int) -> str:
    """The public URL of a development server listening on ``host``:``port``.

    A wildcard address (0.0.0.0, ::) is not an address a browser can open; the
    loopback one is named instead (other machines need TRUSTSVC_PUBLIC_BASE_URL).
    """
    host = host.strip().strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - recognising the wildcard, not binding it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"

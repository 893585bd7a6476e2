"""The error tree: one root, one branch per domain.

An exception means "could not do what was asked"; every message is one line
that a clerk or an operator can act on, and never contains a secret. The
classes know nothing of HTTP: the API maps them to statuses and problem+json
in ``api/errors.py`` (the only place), the CLI to one line on stderr and an
exit code.
"""

from __future__ import annotations


class TrustServiceError(Exception):
    """Root of every error the service raises on purpose."""

    #: Stable machine-readable code (batch reports, refusals, the problem+json ``type``).
    code: str = "trust-service-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def diagnostics(self) -> str:
        """Text for an operator: the message, and what to do about it."""
        return self.message


class ConfigurationError(TrustServiceError):
    """The settings are unusable (or unsafe for production)."""

    code = "configuration"


class HomeNotInitialisedError(ConfigurationError):
    """The data directory has no PKI yet."""

    code = "home-not-initialised"


class HomeAlreadyInitialisedError(ConfigurationError):
    """``init`` was asked to overwrite an existing PKI."""

    code = "home-already-initialised"


class KeyStoreError(TrustServiceError):
    """A key could not be created, read or used."""

    code = "key-store"


class WrongPassphraseError(KeyStoreError):
    """A stored private key did not decrypt with the configured passphrase."""

    code = "wrong-passphrase"


class InvalidInputError(TrustServiceError):
    """Input that breaks a rule; the message names the rule."""

    code = "invalid-input"


class InvalidCreditCodeError(InvalidInputError):
    """A unified social credit code (GB 32100) is malformed."""

    code = "invalid-credit-code"


class InvalidIdentifierError(InvalidInputError):
    """A GB/T 36904 license identifier (or one of its parts) is malformed."""

    code = "invalid-identifier"


class InvalidLicenseDataError(InvalidInputError):
    """License data breaks its type's rules; ``problems`` names every failing field."""

    code = "invalid-license-data"

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(
            "invalid license data: "
            + "; ".join(f"{field}: {problem}" for field, problem in problems.items())
        )
        #: Field key -> what is wrong with it, in the order the fields were checked.
        self.problems = dict(problems)


class NotFoundError(TrustServiceError):
    """A named thing does not exist."""

    code = "not-found"


class ConflictError(TrustServiceError):
    """The request contradicts what already exists."""

    code = "conflict"


class DuplicateDepartmentError(ConflictError):
    code = "duplicate-department"


class DuplicateLicenseError(ConflictError):
    """The holder already holds a current license of a type that allows only one."""

    code = "duplicate-license"

    def __init__(self, message: str, identifier: str, license_number: str) -> None:
        super().__init__(message)
        #: The license the holder already holds.
        self.identifier = identifier
        self.license_number = license_number


class AmbiguousLicenseNumberError(ConflictError):
    """A printed license number names licenses of more than one department or type."""

    code = "ambiguous-license-number"


class PkiError(TrustServiceError):
    """A certificate, CRL, OCSP or timestamp operation failed."""

    code = "pki"


class TimestampError(PkiError):
    """A timestamp could not be obtained or is not acceptable."""

    code = "timestamp"


class FontNotFoundError(ConfigurationError):
    """No usable CJK font (or Latin companion font) is configured or installed."""

    code = "font-not-found"


class FontUnusableError(ConfigurationError):
    """A font file exists but cannot be embedded (a collection, CFF outlines, corrupt)."""

    code = "font-unusable"


class UnsupportedCharacterError(InvalidInputError):
    """Text contains characters that no configured font can draw."""

    code = "unsupported-character"


class LicenseTextTooLongError(InvalidInputError):
    """A license's text does not fit on its page even at the smallest type size."""

    code = "license-text-too-long"


class SealUnavailableError(ConflictError):
    """The department has no seal it may seal with now (revoked, expired, none)."""

    code = "seal-unavailable"


class AuthenticationError(TrustServiceError):
    """No credential, or one that is unknown, revoked or expired."""

    code = "unauthenticated"


class ForbiddenError(TrustServiceError):
    """The caller is known but may not do this (role, department or purpose)."""

    code = "forbidden"


class PurposeRefusedError(ForbiddenError):
    """A lookup without a purpose (用证事由), or with one the client may not state."""

    code = "purpose-refused"


class TypeNotEntitledError(ForbiddenError):
    """The department may not issue licenses of this type (its rule, or a denial)."""

    code = "type-not-entitled"


class GrantRefusedError(ForbiddenError):
    """A lookup names a holder's grant (授权) that does not admit it (withdrawn, out of its
    period, for another client, department, agent, purpose or holder, or no grant at all)."""

    code = "grant-refused"


class CommandLineOnlyError(ForbiddenError):
    """An operator action kept to the command line (minting an admin client, say)."""

    code = "command-line-only"


class RateLimitedError(TrustServiceError):
    """The client has used up its requests for now; ``retry_after`` says for how long."""

    code = "rate-limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamUnavailableError(TrustServiceError):
    """A service this one depends on (the identity provider, say) did not answer."""

    code = "upstream-unavailable"


class DatabaseUnavailableError(TrustServiceError):
    """The library's database cannot be reached, or refused the work (down, locked, full)."""

    code = "database-unavailable"


class SignInRequiredError(AuthenticationError):
    """A page for signed-in staff, opened by a visitor who is not: sent to the sign-in."""

    code = "sign-in-required"

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        #: Where the visitor signs in (and comes back from).
        self.location = location


class RoleRefusedError(ForbiddenError):
    """Signed in, but in a role the page or action is not for."""

    code = "role-refused"


class CsrfRefusedError(ForbiddenError):
    """A form post without the token of the browser's session (cross-site request forgery)."""

    code = "csrf-refused"


class TimestampUnavailableError(UpstreamUnavailableError):
    """The timestamp authority (TSA) did not answer in time, or could not be reached."""

    code = "tsa-unavailable"


class DocumentStoreFullError(UpstreamUnavailableError):
    """The document store has no room left (disk or quota full): nothing was issued."""

    code = "document-store-full"


class DocumentStoreUnavailableError(UpstreamUnavailableError):
    """The document store cannot be written (read-only, no permission, I/O error)."""

    code = "document-store-unavailable"


class BodyTooLargeError(InvalidInputError):
    """A request body (a form, an upload) is over its route's bound: nothing was read past it."""

    code = "too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit

"""What the service tells browsers and asks of them: security headers on every answer,
and a token in every form the holders' pages post.

Headers: a Content Security Policy (CSP Level 3) that allows scripts and
styles from this origin only (the pages' own inline ``<style>`` blocks by
their SHA-256), no framing (``frame-ancestors 'none'`` and RFC 7034
``X-Frame-Options: DENY``), ``X-Content-Type-Options: nosniff``, and
``Referrer-Policy: no-referrer``, because ``/v/<token>`` URLs carry tokens
that must not leak to the next site. Personal answers (the holder's pages
and API, every ``/api/`` answer, the sign-in, the ``/v/`` pages) also get
``Cache-Control: no-store`` (RFC 9111), so no shared or browser cache keeps
them; public resources (status JSON, PKI files, the API documentation) keep
their caching.

Forms: OWASP's synchronizer token pattern. Each browser session holds a
random token; every form of the pages carries it in a hidden field, and a
post whose token is missing or different is refused (403 ``csrf-refused``).
The sign-in form gets one before anyone signs in, so that another site
cannot sign a visitor in as someone else (login CSRF), which SameSite=Lax
cookies alone do not prevent for a top-level form post.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustsvc.errors import CsrfRefusedError

#: Paths whose answers are personal, or change with every look: never stored by a cache.
PRIVATE_PATHS = ("/me", "/auth/", "/api/", "/v/", "/staff", "/desk", "/console", "/admin", "/stats")
#: The hidden form field, and the session key, of the CSRF token.
CSRF_FIELD = "csrf_token"
_CSRF_SESSION_KEY = "csrf"


def style_source(css: str) -> str:
    """The CSP source expression allowing one inline ``<style>`` block with exactly ``css``."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def content_security_policy(inline_styles: Iterable[str], sign_in_provider: str | None) -> str:
    """The policy of every answer.

    ``inline_styles`` are the exact contents of the pages' ``<style>`` blocks.
    Forms post to this origin only; a form post followed by a redirect to the
    identity provider (signing out, then the sign-in page) counts as going
    there under form-action, so the provider's origin is allowed too.
    """
    form_targets = ["'self'"]
    if sign_in_provider is not None:
        parts = urlsplit(sign_in_provider)
        form_targets.append(f"{parts.scheme}://{parts.netloc}")
    styles = " ".join(["'self'", *sorted({style_source(css) for css in inline_styles})])
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {styles}",
            # The QR codes are inline SVG; Swagger UI draws its icons from data: URIs.
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {' '.join(form_targets)}",
            "frame-ancestors 'none'",
        )
    )


class BrowserHeadersMiddleware:
    """Adds the security headers to every answer, and ``no-store`` to the private ones.

    The header lists are built once: this runs on the public status route's
    thousands of answers a second, where it costs one prefix test and one list.
    """

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.public: list[tuple[bytes, bytes]] = [
            (b"content-security-policy", policy.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        self.private = [*self.public, (b"cache-control", b"no-store")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith(PRIVATE_PATHS)
        added = self.private if private else self.public

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                if private:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                # A new list: a response object may keep and reuse its own.
                message["headers"] = [*headers, *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """The browser session's CSRF token, made when the session has none yet."""
    token = request.session.get(_CSRF_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_CSRF_SESSION_KEY] = token
    return token


def renew_csrf_token(request: Request) -> None:
    """A new token for a new session (at sign-in), so that none from before it works."""
    request.session[_CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def check_csrf(request: Request, submitted: object) -> None:
    """Raise CsrfRefusedError unless ``submitted`` is the session's CSRF token."""
    expected = request.session.get(_CSRF_SESSION_KEY) if "session" in request.scope else None
    if not (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode(errors="replace"))
    ):
        raise CsrfRefusedError(
            "this form was not sent from this service's own page in this browser, or that page "
            "is out of date: reload it and send the form again"
        )


def csrf_field(token: str) -> str:
    """The hidden input a form carries its token in (the token is URL-safe base64)."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'

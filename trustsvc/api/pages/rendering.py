"""Rendering a page: the Jinja2 environment, the page language, and what every template sees.

Templates are compiled once per process and kept (no file is read per
request), and autoescaped: text from a license, a form or a token is data,
never markup. The language is Simplified Chinese unless the visitor chose
English (``?lang=en``), which a cookie then remembers; ``t("中文", "English")``
in a template picks the text of the page's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from markupsafe import Markup
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from trustsvc.api.browser import CSRF_FIELD, csrf_token
from trustsvc.api.deps import state_of
from trustsvc.api.errors import DATABASE_DOWN, http_status
from trustsvc.errors import (
    BodyTooLargeError,
    DatabaseUnavailableError,
    InvalidInputError,
    SignInRequiredError,
    TrustServiceError,
)
from trustsvc.licenses.holders import HolderIdType, mask_holder_id
from trustsvc.staff.users import ROLE_WORDS

log = logging.getLogger("trustsvc.pages")
#: The languages of the pages; the first is the default.
LANGUAGES = ("zh", "en")
LANGUAGE_COOKIE = "trustsvc_lang"
_LANGUAGE_TAGS = {"zh": "zh-CN", "en": "en"}
_YEAR = 365 * 24 * 3600


@cache
def environment() -> jinja2.Environment:
    """The process's template environment (compiled templates cached for its lifetime)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("trustsvc.api", "templates"),
        autoescape=True,
        auto_reload=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        cache_size=-1,
    )


def language(request: Request) -> str:
    """The page's language: the query's choice, else the cookie's, else Chinese."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def _translator(lang: str) -> Callable[[str, str], str]:
    if lang == "en":
        return lambda _zh, en: en
    return lambda zh, _en: zh


def _mask(value: object, id_type: str = HolderIdType.CITIZEN_ID.value) -> str:
    """An ID number as public pages show it: ``{{ number | mask(id_type) }}``."""
    return mask_holder_id(id_type, str(value or ""))


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered with ``context`` and what every page has, as an HTML answer."""
    lang = language(request)
    zone = state_of(request).services.settings.zone

    def local(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def csrf_field() -> Markup:
        token = csrf_token(request)
        # The token is URL-safe base64 and escaped anyway; the markup is this fixed input.
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)

    page = environment().get_template(template)
    body = page.render(
        {
            "request": request,
            **_frame_context(lang),
            "local": local,
            "csrf_field": csrf_field,
            "staff": getattr(request.state, "staff", None),
            "holder": getattr(request.state, "holder", None),
            "path": request.url.path,
            **context,
        }
    )
    return page_response(request, lang, body, status_code, headers)


def _frame_context(lang: str) -> dict[str, Any]:
    """What base.html needs of the page language."""
    return {
        "lang": lang,
        "lang_tag": _LANGUAGE_TAGS[lang],
        "t": _translator(lang),
        "role_words": ROLE_WORDS,
    }


def page_response(
    request: Request,
    lang: str,
    body: str | bytes,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A rendered page as the answer, remembering a language chosen in the query."""
    response = HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=_YEAR, samesite="lax", httponly=True, path="/"
        )
    return response


environment().filters["mask"] = _mask

#: Where a frame's title and main content go (a character no template or text has).
_SLOT = "\x1e"


@dataclass(frozen=True)
class VisitorFrame:
    """base.html rendered for a visitor signed in as nobody: the text around the title
    and around the main content."""

    before_title: str
    before_main: str
    after_main: str

    def page(self, title: str, main: str) -> str:
        """The whole page around ``title`` and ``main`` (both markup, already escaped)."""
        return f"{self.before_title}{title}{self.before_main}{main}{self.after_main}"


@cache
def visitor_frame(lang: str, head: str) -> VisitorFrame:
    """The frame of a public page in ``lang``, with ``head`` (constant template text) in
    its head: rendered once per language, for the hot public pages (``/v/<token>``).

    Only for pages outside the sessions' paths (no staff or holder is ever signed in
    there, so the frame has no sign-out form and no CSRF token). A frame that starts
    to need anything per request fails here (strict undefined), not silently.
    """
    source = (
        '{% extends "base.html" %}{% block title %}' + _SLOT + "{% endblock %}"
        "{% block head %}" + head + "{% endblock %}"
        "{% block main %}" + _SLOT + "{% endblock %}"
    )
    frame = (
        environment()
        .from_string(source)
        .render({**_frame_context(lang), "staff": None, "holder": None})
    )
    before_title, before_main, after_main = frame.split(_SLOT)
    return VisitorFrame(before_title, before_main, after_main)


def size_words(limit: int) -> str:
    """A bound in bytes as people say it: 40 MB, 16 KB."""
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MB"
    return f"{max(1, limit // 1024)} KB"


def too_large_words(error: BodyTooLargeError) -> tuple[str, str]:
    """What a page says of a body over its bound (zh, en)."""
    size = size_words(error.limit)
    return (
        f"提交的文件或表单过大：不能超过 {size}。请换用较小的文件后重试。",
        f"What was sent is too large: at most {size}. Try again with a smaller file.",
    )


def error_page(request: Request, error: TrustServiceError) -> Response:
    """What a page answers for a domain error: the sign-in for a visitor, else a page saying why."""
    if isinstance(error, SignInRequiredError):
        return RedirectResponse(error.location, status_code=303)
    status = http_status(error)
    # A 503 names what is down; other server errors say nothing of the internals.
    message = error.message if status < 500 or status == 503 else None
    if isinstance(error, BodyTooLargeError):
        zh, en = too_large_words(error)
        message = zh if language(request) == "zh" else en
    return render(
        request,
        "errors/problem.html",
        status_code=status,
        status=status,
        code=error.code,
        message=message,
    )


class PageRoute(APIRoute):
    """A route of a page: its domain errors answered as pages, not as problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except TrustServiceError as error:
                return error_page(request, error)
            except StarletteHTTPException as exc:
                # Starlette's form parser says "malformed" so; a page says it as a page.
                if exc.status_code != 400:
                    raise
                return error_page(request, InvalidInputError("the form is not well-formed"))
            except OperationalError:
                log.error("database unavailable", exc_info=True)
                return error_page(request, DatabaseUnavailableError(DATABASE_DOWN))

        return page_handler

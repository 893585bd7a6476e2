"""The presentation code the wallet page shows: kept in the holder's session until it
expires, and drawn as an inline SVG QR code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import zxingcpp
from fastapi import Request

from trustsvc.holders.presentation import PresentationCode

#: The session key under which the page keeps the code it last showed, until it expires.
SHOWN_KEY = "presentation"
_SVG_SIZE = re.compile(r'<svg width="(\d+)" height="(\d+)"')


@dataclass(frozen=True)
class Shown:
    """The presentation code the page shows, with the choices it was made with."""

    link: str
    token: str
    expires_at: datetime
    identifier: str
    purpose: str
    verifier: str
    single_use: bool


def keep(request: Request, code: PresentationCode) -> None:
    request.session[SHOWN_KEY] = {
        "link": code.link,
        "expires_at": code.expires_at.isoformat(),
        "identifier": code.identifier,
        "purpose": code.purpose or "",
        "verifier": code.intended_verifier or "",
        "single_use": code.single_use,
    }


def shown_code(request: Request, now: datetime) -> Shown | None:
    """The code kept for the page while it is valid; an expired or damaged one is forgotten."""
    kept = request.session.get(SHOWN_KEY)
    if kept is None:
        return None
    try:
        link = str(kept["link"])
        shown = Shown(
            link=link,
            token=link.rsplit("/v/", 1)[1],
            expires_at=datetime.fromisoformat(kept["expires_at"]),
            identifier=str(kept.get("identifier", "")),
            purpose=str(kept.get("purpose", "")),
            verifier=str(kept.get("verifier", "")),
            single_use=bool(kept.get("single_use", True)),
        )
    except (TypeError, KeyError, ValueError, IndexError):
        request.session.pop(SHOWN_KEY, None)
        return None
    if shown.expires_at <= now:
        request.session.pop(SHOWN_KEY, None)
        return None
    return shown


def qr_svg(link: str) -> str:
    """The link as a QR code, inline SVG that scales to its box (its own white margin is
    the quiet zone): zint draws it one unit a module, with a size but no viewBox."""
    code = zxingcpp.create_barcode(link, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    svg: str = code.to_svg()
    svg = svg[svg.index("<svg") :]
    size = _SVG_SIZE.search(svg)
    if size is None:
        raise ValueError("the QR code's SVG has no size")  # zint always gives one
    width, height = size.groups()
    # Drawn as one image, named for screen readers; crisp at any size.
    opening = (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="亮证二维码 QR code" '
        'shape-rendering="crispEdges"'
    )
    return opening + svg[size.end() :].replace(' id="barcode"', "", 1)

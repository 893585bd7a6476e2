"""The API documentation at /docs: Swagger UI from files shipped with the service.

FastAPI's own page loads Swagger UI from a CDN, which government networks
often cannot reach (the page is then blank), and starts it with an inline
script, which the Content Security Policy refuses. This page loads the files
of the ``fastapi-offline`` package (Swagger UI's distribution) and a start
script of our own, all from this origin, by relative URLs so that it also
works behind a path prefix.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

#: Where the static files are served, and from which folders.
SWAGGER_UI_PATH = "/static/swagger-ui"
OWN_STATIC_PATH = "/static"


def static_folders() -> dict[str, StaticFiles]:
    """Swagger UI's distribution (for /docs), then this package's own files (the pages'
    stylesheet and scripts, /docs's start script); the more specific mount first."""
    swagger_ui = Path(str(files("fastapi_offline").joinpath("static")))
    own = Path(__file__).resolve().parent.parent / "static"
    return {
        SWAGGER_UI_PATH: StaticFiles(directory=swagger_ui),
        OWN_STATIC_PATH: StaticFiles(directory=own),
    }


_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trustsvc API</title>
<link rel="icon" type="image/png" href="{SWAGGER_UI_PATH[1:]}/favicon.png">
<link rel="stylesheet" href="{SWAGGER_UI_PATH[1:]}/swagger-ui.css">
</head><body>
<div id="swagger-ui"></div>
<script src="{SWAGGER_UI_PATH[1:]}/swagger-ui-bundle.js"></script>
<script src="{OWN_STATIC_PATH[1:]}/docs.js"></script>
</body></html>"""


@router.get("/docs", response_class=HTMLResponse)
async def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE)

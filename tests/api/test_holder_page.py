"""The holder's page: a 亮证 code made from it is shown again on reload, until it expires."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from tests.api.conftest import Api, csrf_token_of
from trustsvc.clock import FixedClock
from trustsvc.db.models import Presentation

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_LINK = re.compile(r'id="presentation-link" href="([^"]+)"')


def _presentations(api: Api) -> int:
    with api.services.database.begin() as session:
        return session.scalar(select(func.count()).select_from(Presentation)) or 0


def test_the_page_shows_its_code_on_every_reload_until_it_expires(
    api: Api, clock: FixedClock
) -> None:
    identifier = api.issue()
    holder = api.holder()
    assert _LINK.search(holder.get("/me").text) is None

    form = f"identifier={identifier}&csrf_token={csrf_token_of(holder)}"
    made = holder.post("/me/present", content=form, headers=_FORM, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/me#presentation"
    first = _LINK.search(holder.get("/me").text)
    assert first is not None and "/v/" in first.group(1)
    again = _LINK.search(holder.get("/me").text)
    assert again is not None and again.group(1) == first.group(1)
    assert _presentations(api) == 1  # reloading made no second code

    lifetime = api.services.settings.presentation_lifetime_seconds
    clock.advance(timedelta(seconds=lifetime + 1))
    assert _LINK.search(holder.get("/me").text) is None


def test_signing_in_as_someone_else_in_the_same_browser_forgets_the_code(api: Api) -> None:
    identifier = api.issue()
    browser = api.holder()
    form = f"identifier={identifier}&csrf_token={csrf_token_of(browser)}"
    browser.post("/me/present", content=form, headers=_FORM)
    assert _LINK.search(browser.get("/me").text) is not None
    switched = browser.post(
        "/auth/dev-sign-in", json={"id_type": "111", "id_number": "11010519491231002X"}
    )
    assert switched.status_code == 200
    assert _LINK.search(browser.get("/me").text) is None

"""The citizen's wallet (/me): licenses as cards, 亮证 with a large QR code that renews
itself, the record of every use of the holder's data, and grants (授权).

Every action calls the same holder functions as the JSON API under
/api/v1/me (``trustsvc.holders``), so the page has no power the API does not.
Everything works without script: 亮证 is a form whose code is kept in the
session and shown after the redirect, until it expires; with script
(static/wallet.js) the code counts down and a new one is made through the
JSON API shortly before it expires, then kept here (``/me/shown``) so that a
reload shows the code on the screen. A visitor who is not signed in is sent
to the holder sign-in; a member of staff signed in as staff is refused: the
wallet is the holder's own. One module per job:

- ``common``: the signed-in holder, a license as its card, a refused form in words, and
  the record's and grants' codes in words;
- ``shown_code``: the presentation code the page shows, kept in the session, and its
  drawing as SVG;
- ``cards``: the wallet page itself (cards, the code shown, the record);
- ``presenting``: making a code from the form, keeping one the script made, forgetting it;
- ``grants``: the grants page, granting and withdrawing.
"""

from __future__ import annotations

from fastapi import APIRouter

from trustsvc.api.pages.wallet import cards, grants, presenting
from trustsvc.api.pages.wallet.common import wallet_holder
from trustsvc.api.pages.wallet.shown_code import qr_svg

router = APIRouter(include_in_schema=False)
# The areas' routes themselves (not routers within a router): the app's request guard
# knows the pages by their routes.
for _area in (cards, presenting, grants):
    router.routes.extend(_area.router.routes)

__all__ = ["qr_svg", "router", "wallet_holder"]

"""The wallet page (/me): the holder's licenses as cards, the presentation code shown, and
the record of every use of their data (answered uses first, then refused attempts)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from trustsvc.api.deps import StateDep
from trustsvc.api.pages.rendering import PageRoute, render
from trustsvc.api.pages.wallet.common import (
    Cursor,
    Trouble,
    WalletHolder,
    Words,
    card,
    purposes_of,
)
from trustsvc.api.pages.wallet.shown_code import qr_svg, shown_code
from trustsvc.audit.access_reading import Section
from trustsvc.holders.portal import (
    Holder,
    access_record,
    code_spent,
    licenses_of,
    verifiers_to_name,
)
from trustsvc.staff.users import staff_client_names

router = APIRouter(include_in_schema=False, route_class=PageRoute)


async def wallet_page(
    request: Request,
    holder: Holder,
    state: StateDep,
    uses: str | None,
    refused: str | None,
    *,
    trouble: Trouble | None = None,
    status_code: int = 200,
) -> Response:
    services = state.services
    views = await run_in_threadpool(licenses_of, state.licenses, holder)
    used = await run_in_threadpool(access_record, services, holder, Section.USES, uses)
    attempts = await run_in_threadpool(access_record, services, holder, Section.REFUSED, refused)
    verifiers = await run_in_threadpool(verifiers_to_name, services)
    now = services.clock.now()
    shown = shown_code(request, now)
    spent = shown is not None and await run_in_threadpool(
        code_spent, services.database, holder, shown.token
    )
    cards = [card(v) for v in views]
    shown_card = next((c for c in cards if shown and c.view.identifier == shown.identifier), None)
    who = await run_in_threadpool(
        staff_client_names,
        state.services,
        [v.name for v in verifiers]
        + [x.actor for x in (*used.entries, *attempts.entries)]
        + ([shown.verifier] if shown else []),
    )
    return render(
        request,
        "wallet/me.html",
        status_code=status_code,
        holder=holder,
        cards=cards,
        shown=shown,
        shown_card=shown_card,
        spent=spent,
        shown_svg=qr_svg(shown.link) if shown and not spent else "",
        seconds_left=int((shown.expires_at - now).total_seconds()) if shown else 0,
        uses=used,
        refused=attempts,
        first=uses is None and refused is None,
        verifiers=verifiers,
        purposes=purposes_of(verifiers),
        who=who,
        trouble=trouble,
        words=Words,
    )


@router.get("/me")
async def my_page(
    request: Request,
    holder: WalletHolder,
    state: StateDep,
    uses: Cursor = None,
    refused: Cursor = None,
) -> Response:
    return await wallet_page(request, holder, state, uses, refused)

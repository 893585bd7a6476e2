"""The department console: an officer issues and manages the department's licenses.

An officer acts as their issuer client (``StaffMember.client``), so every page
here calls what the issuer routes (``routes/licenses.py``) call, with the same
department, entitlement, numbering and records: a license of another
department is refused as the API refuses it, and each event names the client
as its actor, as the API's do. One module per area:

- ``common``: what every console page needs (the officer's client, the bounded form
  reader, form tokens, the words for statuses and actions);
- ``issuing``: the home and the form generated from the license type
  (``licenses.forms``), previewed unsealed (``licenses.preview``) and issued under a
  form token as its idempotency key, so a double submit issues once;
- ``licenses``: the department's licenses, a license's page and its PDF;
- ``lifecycle``: suspend, resume and revoke (a reason, then a confirmation) and change;
- ``uploads``: batches (CSV) and approval documents.
"""

from __future__ import annotations

from fastapi import APIRouter

from trustsvc.api.pages.console import issuing, licenses, lifecycle, uploads

router = APIRouter(include_in_schema=False)
# The areas' routes themselves (not routers within a router): the app's request guard
# knows the pages by their routes.
for _area in (issuing, licenses, lifecycle, uploads):
    router.routes.extend(_area.router.routes)

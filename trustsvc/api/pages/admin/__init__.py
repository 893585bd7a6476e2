"""The administration pages (/admin): departments and seals, staff, API clients, purposes,
and the operator and access records, one module per area.

Thin handlers: each parses a bounded form (with its CSRF token), calls one
function of ``staff.administration`` (which checks who may do what, calls the
same registry functions as the command line and records the operation), and
shows the outcome (``common.act``). A destructive action (revoking a seal or a
client, rotating a key, disabling a user, removing a purpose, granting or
denying a license type) goes through a confirmation page first.
"""

from __future__ import annotations

from fastapi import APIRouter

from trustsvc.api.pages.admin import clients, departments, purposes, records, staff

router = APIRouter(include_in_schema=False)
# The areas' routes themselves (not routers within a router): the app's request guard
# knows the pages by their routes.
for _area in (departments, staff, clients, purposes, records):
    router.routes.extend(_area.router.routes)

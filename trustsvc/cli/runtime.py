"""The one place the command line builds, opens and closes the service.

Every command that reads a home goes through :func:`opened` (or, for the one
command that must not load the keys, :func:`opened_database`) and gets back
what it needs, closed again however the command ends. The license service and
the verifier are built here too, and only here, so that how the service is
composed can change in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

import click

from trustsvc.settings import Settings, load_settings

if TYPE_CHECKING:
    from trustsvc.db import Database
    from trustsvc.licenses.service import LicenseService
    from trustsvc.pki.home import Pki
    from trustsvc.services import Services
    from trustsvc.verification.verifier import Verifier


def overrides(ctx: click.Context) -> dict[str, object]:
    """Settings given as options (``--home``, ``init --algorithm``): over the environment's."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    given: dict[str, object] = root.obj
    return given


def settings_of(ctx: click.Context, *, from_home: bool = True) -> Settings:
    """The settings a command runs with.

    ``from_home``: an unset public URL is the one the home's certificates name
    (every command but ``serve``, which derives it from ``--host`` and ``--port``).
    """
    settings = load_settings(**overrides(ctx))
    if not from_home:
        return settings
    from trustsvc.pki.home import with_certified_base_url

    return with_certified_base_url(settings)


class Runtime:
    """An open home: its services, and what is built from them on first use."""

    def __init__(self, services: Services, *, offline: bool) -> None:
        self.services = services
        #: Opened without a database: nothing may be read from it or recorded.
        self.offline = offline

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @cached_property
    def licenses(self) -> LicenseService:
        """The license library and issuer (loads the types and the data key)."""
        from trustsvc.licenses.service import LicenseService

        return LicenseService(self.services)

    def verifier(self, *, allow_fetching: bool) -> Verifier:
        """A verifier of PDFs and tokens; offline it asks no database and fetches nothing."""
        from trustsvc.verification.verifier import Verifier

        return Verifier(self.services, allow_fetching=allow_fetching, offline=self.offline)


@contextmanager
def opened(settings: Settings, *, offline: bool = False) -> Iterator[Runtime]:
    """An initialised home, opened: settings checked, database migrated, keys decrypted.

    ``offline``: the home's PKI files only; the database is never connected to.
    """
    from trustsvc.services import open_offline_services, open_services

    services = open_offline_services(settings) if offline else open_services(settings)
    try:
        yield Runtime(services, offline=offline)
    finally:
        services.close()


@contextmanager
def opened_database(settings: Settings) -> Iterator[Database]:
    """The home's database alone, for a change to a home whose PKI is not yet complete."""
    from trustsvc.db import open_database

    database = open_database(settings.resolved_database_url)
    try:
        yield database
    finally:
        database.dispose()


def initialise(settings: Settings) -> Pki:
    """Create a home: its PKI, its database and its verification-report seal."""
    from trustsvc.services import initialise_home
    from trustsvc.verification.report_seal import report_seal

    pki = initialise_home(settings)
    # A home made before the report seal gets it on first use; a new one at once.
    with opened(settings) as runtime:
        report_seal(runtime.services)
    return pki


def is_initialised(settings: Settings) -> bool:
    from trustsvc.services import is_initialised as has_pki

    return has_pki(settings)

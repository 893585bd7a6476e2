"""The one place the command line builds, opens and closes the service.

Every command that reads a home goes through :func:`opened` (or, for the one
command that must not load the keys, :func:`opened_database`) and gets back
what it needs, closed again however the command ends. The license service and
the verifier are built here too, and only here, so that how the service is
composed can change in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

import click

from trustsvc.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from trustsvc import bootstrap
    from trustsvc.db import Database
    from trustsvc.documents.store import DocumentStore
    from trustsvc.licenses.issuing import IssuingService
    from trustsvc.licenses.types import LicenseType
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

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @cached_property
    def composed(self) -> bootstrap.Runtime:
        """What issuing runs on, built on first use (loads the types and the data key)."""
        from trustsvc.bootstrap import build_runtime

        return build_runtime(self.services)

    @property
    def licenses(self) -> IssuingService:
        """The license library and issuer."""
        return self.composed.licenses

    @property
    def types(self) -> Mapping[str, LicenseType]:
        return self.composed.types

    @property
    def store(self) -> DocumentStore:
        return self.composed.store

    def verifier(self, *, allow_fetching: bool) -> Verifier:
        """A verifier of PDFs and tokens, online: it asks the library."""
        from trustsvc.bootstrap import build_verifier

        _install_pdf_reader()
        return build_verifier(self.services, allow_fetching=allow_fetching)


def offline_verifier(settings: Settings, report_seals: Iterable[str] = ()) -> Verifier:
    """A verifier from the home's certificate files alone: no key, no database is opened.

    ``report_seals``: a trust bundle's report seals, trusted beside the home's.
    """
    from trustsvc.bootstrap import offline_verifier as build_offline

    _install_pdf_reader()
    return build_offline(settings, report_seals=report_seals)


def _install_pdf_reader() -> None:
    # The process's PDF reader (hex strings at C speed), chosen once before the first
    # verification; only commands that verify load pyHanko's reader for it.
    from trustsvc.verification import hex_strings

    hex_strings.install()


@contextmanager
def opened(settings: Settings) -> Iterator[Runtime]:
    """An initialised home, opened: settings checked, database migrated, keys decrypted."""
    from trustsvc.bootstrap import open_services

    services = open_services(settings)
    try:
        yield Runtime(services)
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
    from trustsvc.bootstrap import initialise_home
    from trustsvc.verification.report_seal import report_seal

    pki = initialise_home(settings)
    # A home made before the report seal gets it on first use; a new one at once.
    with opened(settings) as runtime:
        report_seal(runtime.services)
    return pki


def is_initialised(settings: Settings) -> bool:
    from trustsvc.bootstrap import is_initialised as has_pki

    return has_pki(settings)

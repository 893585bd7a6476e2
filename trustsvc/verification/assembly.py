"""Verifiers assembled from a running service: its trust material and its library.

The composition root's part for verification (``trustsvc.bootstrap`` takes it
over): trust material from the home's certificate files and the operator's
trust list, a library lookup over the service's database. Offline there is
neither database nor lookup: ``offline_verifier`` needs only settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from cryptography import x509

from trustsvc.bootstrap import Services
from trustsvc.clock import Clock, SystemClock
from trustsvc.pki.trust import operator_roots
from trustsvc.settings import Settings
from trustsvc.verification.library import DatabaseLibrary
from trustsvc.verification.trust import TrustMaterial, load_trust_material
from trustsvc.verification.verifier import DEFAULT_MAX_BYTES, DEFAULT_TIME_LIMIT, Verifier


def online_trust_material(
    services: Services, extra_trust_roots: Iterable[x509.Certificate] = ()
) -> TrustMaterial:
    """The service's trust material: its certificates and the operator's trust list."""
    roots = [*extra_trust_roots, *operator_roots(services.database)]
    return load_trust_material(services.settings, services.clock, roots)


def database_library(services: Services) -> DatabaseLibrary:
    return DatabaseLibrary(services.database, services.revocation)


def build_verifier(
    services: Services,
    *,
    offline: bool = False,
    extra_trust_roots: Iterable[x509.Certificate] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_fetching: bool = True,
    time_limit: timedelta = DEFAULT_TIME_LIMIT,
) -> Verifier:
    """A verifier for this service: online with its library, or offline from its files only."""
    if offline:
        return offline_verifier(
            services.settings,
            services.clock,
            extra_trust_roots=extra_trust_roots,
            max_bytes=max_bytes,
            time_limit=time_limit,
        )
    return Verifier(
        online_trust_material(services, extra_trust_roots),
        database_library(services),
        max_bytes=max_bytes,
        allow_fetching=allow_fetching,
        time_limit=time_limit,
    )


def offline_verifier(
    settings: Settings,
    clock: Clock | None = None,
    *,
    extra_trust_roots: Iterable[x509.Certificate] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_limit: timedelta = DEFAULT_TIME_LIMIT,
) -> Verifier:
    """A verifier reading nothing but the home's certificate files: no key, no database."""
    settings.check_production()
    trust = load_trust_material(settings, clock or SystemClock(), extra_trust_roots)
    return Verifier(trust, None, max_bytes=max_bytes, allow_fetching=False, time_limit=time_limit)

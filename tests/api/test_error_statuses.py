"""Every domain error has its HTTP status in ``api/errors.py``, and nowhere else."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import trustsvc
from trustsvc.api.errors import HTTP_STATUS, http_status
from trustsvc.errors import (
    DocumentStoreFullError,
    InvalidLicenseDataError,
    RateLimitedError,
    TrustServiceError,
)
from trustsvc.seals.sealer import SealNotInStandingError


def _all_error_classes() -> list[type[TrustServiceError]]:
    for module in pkgutil.walk_packages(trustsvc.__path__, "trustsvc."):
        if ".migrations" in module.name or module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    found: list[type[TrustServiceError]] = []
    pending: list[type[TrustServiceError]] = [TrustServiceError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("trustsvc.") and cls not in found:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


ERROR_CLASSES = _all_error_classes()


def test_the_walk_finds_the_errors_of_every_package() -> None:
    modules = {cls.__module__ for cls in ERROR_CLASSES}
    assert {"trustsvc.errors", "trustsvc.seals.sealer", "trustsvc.departments.seals"} <= modules
    assert len(ERROR_CLASSES) >= 35


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__qualname__)
def test_every_domain_error_is_given_its_status_by_name(cls: type[TrustServiceError]) -> None:
    assert cls in HTTP_STATUS, f"{cls.__module__}.{cls.__qualname__} has no HTTP status"
    assert 400 <= HTTP_STATUS[cls] <= 599


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__qualname__)
def test_no_domain_error_carries_an_http_status(cls: type[TrustServiceError]) -> None:
    assert not any("http" in name.lower() for name in vars(cls)), cls


def test_the_status_follows_the_class_not_its_first_base() -> None:
    # A seal revoked since it was chosen is a conflict (409), though it is also a
    # sealing failure (500) and that base comes first in its MRO.
    assert http_status(SealNotInStandingError("revoked")) == 409
    assert http_status(InvalidLicenseDataError({"name": "missing"})) == 422
    assert http_status(RateLimitedError("slow down", retry_after=3)) == 429
    assert http_status(DocumentStoreFullError("full")) == 507


def test_an_unlisted_subclass_takes_its_nearest_base() -> None:
    class Unlisted(RateLimitedError):
        pass

    assert http_status(Unlisted("slow down", retry_after=1)) == 429

"""Fixtures for issuing: a department with a seal, and the license service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
from trustsvc.departments import add_department
from trustsvc.licenses.service import LicenseService
from trustsvc.services import Services


@pytest.fixture
def licenses(services: Services) -> Iterator[LicenseService]:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100")
    add_department(services, "宁波市住房和城乡建设局", DEPARTMENT_B, "330200")
    yield LicenseService(services)

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.helpers import DEPARTMENT_A, current_seal
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import add_department
from trustsvc.errors import ConflictError, InvalidInputError
from trustsvc.pki import ca
from trustsvc.pki.keystore import generate_private_key
from trustsvc.pki.trust import add_trust_anchor, trust_anchors
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm
from trustsvc.verification.verifier import Verifier


def test_an_operator_root_joins_the_verifiers_trust_list(
    services: Services, clock: FixedClock
) -> None:
    outside_root = ca.build_root_ca(
        generate_private_key(KeyAlgorithm.EC_P256),
        ca.service_name("省级电子认证中心", "Provincial Root CA"),
        clock.now(),
    )
    anchor = add_trust_anchor(services, outside_root.public_bytes(Encoding.PEM))
    assert [a.fingerprint_sha256 for a in trust_anchors(services)] == [anchor.fingerprint_sha256]
    assert outside_root in Verifier(services).trust_roots
    with pytest.raises(ConflictError):
        add_trust_anchor(services, outside_root.public_bytes(Encoding.DER))


def test_only_ca_certificates_can_be_anchors(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    seal = current_seal(services, DEPARTMENT_A)
    with pytest.raises(InvalidInputError, match="CA certificate"):
        add_trust_anchor(services, seal.public_bytes(Encoding.PEM))
    with pytest.raises(InvalidInputError, match=r"X\.509"):
        add_trust_anchor(services, b"not a certificate")
    assert trust_anchors(services) == []

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from asn1crypto import cms
from pydantic import SecretStr
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.status import SignatureCoverageLevel
from reportlab.pdfgen.canvas import Canvas

from tests.helpers import DEPARTMENT_A, make_sealer
from tests.licenses.pdf_checks import validate_offline
from trustsvc.bootstrap import initialise_home, open_services
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import add_department
from trustsvc.departments.seals import active_seal, revoke_seal
from trustsvc.seals.sealer import SealingError, SealProfile
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm, Settings


def _blank_pdf() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "sealed by the tests")
    canvas.save()
    return buffer.getvalue()


@pytest.mark.parametrize("profile", list(SealProfile))
def test_every_profile_validates_offline(services: Services, profile: SealProfile) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    sealed = make_sealer(services).seal(
        _blank_pdf(), active_seal(services, DEPARTMENT_A).material, (300, 100, 420, 220), None,
        "test", profile,
    ).pdf  # fmt: skip
    if profile is SealProfile.B_T:
        reader = PdfFileReader(io.BytesIO(sealed))
        assert reader.root.get("/DSS") is None
        return
    status, dss = validate_offline(services, sealed)
    assert status.bottom_line and status.docmdp_ok
    assert list(dss.ocsps) and list(dss.crls)
    if profile is SealProfile.B_LT:
        # B-LT in one revision: the DSS is signed with the document, nothing follows.
        assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
        assert status.modification_level is ModificationLevel.NONE
    else:
        assert status.coverage is SignatureCoverageLevel.ENTIRE_REVISION
        assert status.modification_level is ModificationLevel.LTA_UPDATES
    reader = PdfFileReader(io.BytesIO(sealed))
    timestamps = [
        s for s in reader.embedded_signatures if s.sig_object.get("/Type") == "/DocTimeStamp"
    ]
    assert len(timestamps) == (1 if profile is SealProfile.B_LTA else 0)


def test_the_seal_cms_is_canonical_der(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    sealed = (
        make_sealer(services)
        .seal(
            _blank_pdf(),
            active_seal(services, DEPARTMENT_A).material,
            (300, 100, 420, 220),
            None,
            "t",
        )
        .pdf
    )
    [signature] = PdfFileReader(io.BytesIO(sealed)).embedded_signatures
    # /Contents holds the ContentInfo followed by the zero padding of the reservation.
    encoded = cms.ContentInfo.load(signature.sig_object["/Contents"], strict=False).dump()
    reparsed = cms.ContentInfo.load(encoded)
    signed_data = reparsed["content"]
    # What the template assembles must re-encode identically. (The certificates
    # are copied verbatim; asn1crypto's forced re-encoding of them takes seconds.)
    signer_info = signed_data["signer_infos"][0]
    assert cms.SignerInfo.load(signer_info.dump()).dump(force=True) == signer_info.dump()
    certificates = [c.chosen.dump() for c in signed_data["certificates"]]
    assert certificates == sorted(certificates)  # DER SET OF order
    names = {a["type"].native for a in signer_info["signed_attrs"]}
    assert names == {
        "content_type",
        "message_digest",
        "signing_certificate_v2",
        "cms_algorithm_protection",
    }
    assert [a["type"].native for a in signer_info["unsigned_attrs"]] == [
        "signature_time_stamp_token"
    ]


def test_rsa_3072_seals_validate(tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(
        home=tmp_path / "rsa", key_algorithm=KeyAlgorithm.RSA_3072, key_passphrase=SecretStr("p")
    )
    initialise_home(settings, clock)
    services = open_services(settings, clock)
    try:
        add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
        sealed = make_sealer(services).seal(
            _blank_pdf(),
            active_seal(services, DEPARTMENT_A).material,
            (300, 100, 420, 220),
            None,
            "t",
        )
        status, _dss = validate_offline(services, sealed.pdf)
        # The seal signs the whole file, its DSS included.
        assert sealed.signed_revision == sealed.pdf
        assert b"/DSS" in sealed.signed_revision
        assert status.bottom_line
    finally:
        services.close()


def test_a_revoked_seal_does_not_seal_even_from_a_warm_cache(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    sealer = make_sealer(services)
    material = active_seal(services, DEPARTMENT_A).material
    sealer.seal(_blank_pdf(), material, (300, 100, 420, 220), None, "warm")
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    sealer._prepared.clear()  # the cache lasts minutes; a fresh preparation must refuse
    with pytest.raises(SealingError, match="good standing"):
        sealer.seal(_blank_pdf(), material, (300, 100, 420, 220), None, "after revocation")


def test_a_seal_whose_path_does_not_reach_a_trust_root_does_not_seal(
    services: Services, tmp_path: Path, clock: FixedClock
) -> None:
    # pyHanko no longer validates the seal's path before every signature; the
    # sealer does it once per preparation, and must still refuse.
    other = Settings(home=tmp_path / "other", key_passphrase=SecretStr("p"))
    initialise_home(other, clock)
    foreign_root = open_services(other, clock)
    try:
        add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
        material = active_seal(services, DEPARTMENT_A).material
        untrusted = dataclasses.replace(material, trust_roots=(foreign_root.pki.root,))
        with pytest.raises(SealingError, match="does not validate"):
            make_sealer(services).seal(_blank_pdf(), untrusted, (300, 100, 420, 220), None, "t")
    finally:
        foreign_root.close()

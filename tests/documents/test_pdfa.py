"""Issued licenses are PDF/A-2b after sealing (tests/pdfa_rules.py), and each rule can fail."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable

import pikepdf
import pytest

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
from tests.licenses.pdf_checks import validate_offline
from tests.pdfa_rules import violations
from trustsvc.bootstrap import build_licenses
from trustsvc.documents.pdfpage import srgb_profile
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.seals.sealer import SealProfile
from trustsvc.services import Services


def _issue(licenses: IssuingService, type_key: str = "business-license") -> bytes:
    department = DEPARTMENT_B if type_key == "construction-permit" else DEPARTMENT_A
    data = dict(example_data(get_type(licenses.types, type_key)))
    result = licenses.issue(IssueRequest(department, type_key, data))
    return licenses.document(result.license.identifier)


def test_every_shipped_type_is_pdf_a_2b_after_sealing(licenses: IssuingService) -> None:
    for type_key in licenses.types:
        assert violations(_issue(licenses, type_key)) == [], type_key


@pytest.mark.parametrize("profile", [SealProfile.B_T, SealProfile.B_LTA])
def test_the_other_seal_profiles_keep_pdf_a_2b(
    licenses: IssuingService, profile: SealProfile
) -> None:
    licenses.producer.sealer.profile = profile
    pdf = _issue(licenses)
    assert violations(pdf) == []
    if profile is SealProfile.B_LTA:
        # The document timestamp is a revision of its own: still PDF 1.7, metadata untouched.
        assert pdf.count(b"%%EOF") == 3


def test_sealing_keeps_header_catalog_and_extensions_at_pdf_1_7(
    services: Services,
    licenses: IssuingService,
) -> None:
    pdf = _issue(licenses)
    assert pdf.startswith(b"%PDF-1.7\n")
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert "/Version" not in document.Root
        # PAdES's ESIC extension of PDF 1.7; no ISO/TS 32002 (an extension of PDF 2.0).
        assert set(document.Root.Extensions.keys()) == {"/ESIC"}
        assert str(document.Root.Extensions.ESIC.BaseVersion) == "/1.7"
    status, _dss = validate_offline(services, pdf)
    assert status.bottom_line


def test_info_and_xmp_agree_after_sealing(licenses: IssuingService) -> None:
    pdf = _issue(licenses)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        info = document.trailer.Info
        xmp = document.Root.Metadata.read_bytes().decode()
        assert str(info.Producer) == "trustsvc"
        assert "<pdf:Producer>trustsvc</pdf:Producer>" in xmp
        assert "/Trapped" not in info and "Trapped" not in xmp
        dates = re.findall(r"<xmp:(\w+Date)>([^<]+)<", xmp)
        assert len({value for _name, value in dates}) == 1, dates
        assert str(info.ModDate) == str(info.CreationDate)


def test_the_output_intent_is_the_shipped_srgb_v2_profile(licenses: IssuingService) -> None:
    profile = srgb_profile()
    assert profile is srgb_profile()  # read once per process
    assert profile[8] == 2 and profile[12:20] == b"mntrRGB "
    assert (
        hashlib.sha256(profile).hexdigest()
        == "2a92d4bae450b76d8b0aa42193df974d75f62738ecebf74f01c5e75b12a95796"
    )
    with pikepdf.open(io.BytesIO(_issue(licenses))) as document:
        [intent] = document.Root.OutputIntents
        assert intent.DestOutputProfile.read_bytes() == profile


# ---- the rules can fail: each one against a document broken in its way --------------


def _trapped(document: pikepdf.Pdf) -> None:
    xmp = document.Root.Metadata.read_bytes().replace(
        b"</pdf:Producer>", b"</pdf:Producer>\n<pdf:Trapped>False</pdf:Trapped>"
    )
    document.Root.Metadata.write(xmp)


def _producer(document: pikepdf.Pdf) -> None:
    document.trailer.Info.Producer = pikepdf.String("trustsvc; pyHanko 0.38.0")


def _pdf_2_0(document: pikepdf.Pdf) -> None:
    document.Root.Version = pikepdf.Name("/2.0")


def _iso_32002(document: pikepdf.Pdf) -> None:
    document.Root.Extensions.ISO_ = pikepdf.Array(
        [pikepdf.Dictionary(BaseVersion=pikepdf.Name("/2.0"), ExtensionLevel=32002)]
    )


def _icc_v4(document: pikepdf.Pdf) -> None:
    stream = document.Root.OutputIntents[0].DestOutputProfile
    profile = bytearray(stream.read_bytes())
    profile[8:10] = b"\x04\x40"
    stream.write(bytes(profile))


def _transparency(document: pikepdf.Pdf) -> None:
    page = document.pages[0]
    page.Resources.ExtGState = pikepdf.Dictionary(GS0=pikepdf.Dictionary(ca=0.5))


def _not_printable(document: pikepdf.Pdf) -> None:
    document.pages[0].Annots[0].F = 2


def _no_appearance(document: pikepdf.Pdf) -> None:
    del document.pages[0].Annots[0].AP


def _no_to_unicode(document: pikepdf.Pdf) -> None:
    font = next(iter(document.pages[0].Resources.Font.values()))
    del font.ToUnicode


def _wrong_widths(document: pikepdf.Pdf) -> None:
    font = next(iter(document.pages[0].Resources.Font.values()))
    font.Widths = pikepdf.Array([w + 100 for w in font.Widths])


def _javascript(document: pikepdf.Pdf) -> None:
    document.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name("/JavaScript"), JS=pikepdf.String("app.alert(1)")
    )


def _no_pdfa_identification(document: pikepdf.Pdf) -> None:
    xmp = document.Root.Metadata.read_bytes().replace(b">2</pdfaid:part>", b">1</pdfaid:part>")
    document.Root.Metadata.write(xmp)


@pytest.mark.parametrize(
    ("breaks", "rule"),
    [
        (_trapped, "6.6.2.3.1: http://ns.adobe.com/pdf/1.3/Trapped"),
        (_producer, "6.6.3: Info /Producer"),
        (_pdf_2_0, "6.1.2: the catalog says /Version"),
        (_iso_32002, "extension /ISO_ is based on PDF (2, 0)"),
        (_icc_v4, "6.2.3: the ICC profile is version 4.4"),
        (_transparency, "transparency:"),
        (_not_printable, "6.3.2:"),
        (_no_appearance, "6.3.3:"),
        (_no_to_unicode, "6.2.11.7:"),
        (_wrong_widths, "6.2.11.5:"),
        (_javascript, "6.5.1:"),
        (_no_pdfa_identification, "6.6.4:"),
    ],
)
def test_each_rule_finds_what_it_is_about(
    sealed_license: bytes, breaks: Callable[[pikepdf.Pdf], None], rule: str
) -> None:
    with pikepdf.open(io.BytesIO(sealed_license)) as document:
        breaks(document)
        output = io.BytesIO()
        document.save(output, static_id=True)
    found = violations(output.getvalue())
    assert any(rule in finding for finding in found), found


@pytest.fixture(scope="module")
def sealed_license(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One sealed license for the rule tests, issued once (on SQLite) for the module."""
    from datetime import UTC, datetime

    from pydantic import SecretStr

    from trustsvc.bootstrap import initialise_home, open_services
    from trustsvc.clock import FixedClock
    from trustsvc.departments.registry import add_department
    from trustsvc.settings import Settings

    home = tmp_path_factory.mktemp("pdfa") / "home"
    settings = Settings(home=home, key_passphrase=SecretStr("pdfa-rule-tests"))
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    initialise_home(settings, clock)
    services = open_services(settings, clock)
    try:
        add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100")
        pdf = _issue(build_licenses(services))
    finally:
        services.close()
    assert violations(pdf) == []
    return pdf

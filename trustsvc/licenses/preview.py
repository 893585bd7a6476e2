"""How a license will look before it is issued: its page rendered from the form, not sealed.

The preview goes through the same steps as issuing up to sealing (the type's
validation, ``printing.license_document``, ``documents.render``), so what the
officer sees is what will be sealed, but nothing is reserved, numbered, sealed
or recorded. The number and identifier are not known before issuing; the page
prints a placeholder where they go, and its QR code a link that verifies as
nothing, so a printed preview cannot pass for a license.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trustsvc.documents.raster import page_png
from trustsvc.documents.render import render_license
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.printing import license_document
from trustsvc.licenses.types import LicenseData, get_type, validate_license_data

#: Printed where the 证照编号 and the identifier will be.
PLACEHOLDER_NUMBER = "样张（签发时编号）"
PLACEHOLDER_IDENTIFIER = "样张 PREVIEW - NOT ISSUED"


@dataclass(frozen=True)
class LicensePreview:
    data: LicenseData
    pdf: bytes
    png: bytes


def preview_license(
    service: IssuingService, department_name: str, type_key: str, data: Mapping[str, object]
) -> LicensePreview:
    """The unsealed page ``data`` would make; ``InvalidLicenseDataError`` as issuing would."""
    license_type = get_type(service.types, type_key)
    checked = validate_license_data(license_type, data, service.today())
    document = license_document(
        license_type,
        checked,
        license_number=PLACEHOLDER_NUMBER,
        identifier=PLACEHOLDER_IDENTIFIER,
        issuer_name=department_name,
        issue_date=service.today(),
        verify_url=f"{service.settings.public_base_url}/v/preview-not-issued",
    )
    rendered = render_license(document, service.font_name)
    return LicensePreview(checked, rendered.pdf, page_png(rendered.pdf))

"""pkilint (DigiCert's PKI linter) over the service's certificates, CRLs and OCSP answers.

The same validator sets as pkilint's command-line tools: ``lint_pkix_cert``
(RFC 5280), ``lint_etsi_cert`` (ETSI EN 319 412-2/-3, with its finding
filters), ``lint_crl -t CRL -p PKIX`` and ``lint_ocsp_response``.
"""

from __future__ import annotations

from typing import Any

from pkilint import etsi, finding_filter, loader, pkix, validation
from pkilint.etsi import etsi_constants
from pkilint.pkix import certificate, crl, extension, name, ocsp

#: A non-qualified certificate for a legal person (no QC statements, no web
#: authentication): what a department's e-seal under this service's own CP is.
SEAL_TYPE = etsi_constants.CertificateType.NCP_LEGAL_PERSON_CERTIFICATE

Finding = tuple[str, str, str]


def _findings(results: Any) -> list[Finding]:
    return [
        (description.finding.severity.name, description.finding.code, str(result.node.path))
        for result in results
        for description in result.finding_descriptions
    ]


def errors(findings: list[Finding]) -> list[Finding]:
    """The findings of ERROR severity or worse (FATAL)."""
    limit = validation.ValidationFindingSeverity.ERROR
    return [f for f in findings if validation.ValidationFindingSeverity[f[0]] <= limit]


def rfc5280_certificate(der: bytes) -> list[Finding]:
    validator = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    return _findings(validator.validate(document.root))


def etsi_certificate(
    der: bytes, certificate_type: etsi_constants.CertificateType = SEAL_TYPE
) -> list[Finding]:
    validator = certificate.create_pkix_certificate_validator_container(
        etsi.create_decoding_validators(certificate_type),
        etsi.create_validators(certificate_type),
    )
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    results, _ = finding_filter.filter_results(
        etsi.create_etsi_finding_filters(certificate_type), validator.validate(document.root)
    )
    return _findings(results)


def detected_etsi_type(der: bytes) -> etsi_constants.CertificateType:
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    detected: etsi_constants.CertificateType = etsi.determine_certificate_type(document)
    return detected


def crl_findings(der: bytes) -> list[Finding]:
    validator = crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, "crl")
    return _findings(validator.validate(document.root))


def ocsp_findings(der: bytes) -> list[Finding]:
    validator = ocsp.create_pkix_ocsp_response_validator_container(
        [
            ocsp.create_response_decoder(),
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [],
    )
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(der, "ocsp")
    return _findings(validator.validate(document.root))

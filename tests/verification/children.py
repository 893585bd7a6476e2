"""What test children do with a PDF: verify it, unless it is one of the markers below.

Importable by name: a verification child (forked from the fork server) imports them.
"""

from __future__ import annotations

import os
import time

from trustsvc.verification.isolation import verify
from trustsvc.verification.report import VerificationReport
from trustsvc.verification.verifier import Verifier

HANG, HOG, DIE = b"%hang", b"%hog", b"%die"
#: What no verification child may hold (see ``trustsvc.verification.isolation``).
SECRETS = ("TRUSTSVC_KEY_PASSPHRASE", "TRUSTSVC_PKCS11_PIN", "TRUSTSVC_DATA_KEY")


def verify_without_secrets(verifier: Verifier, pdf: bytes) -> VerificationReport:
    """Verify, but only in a child that holds no secret and no private key."""
    held = [name for name in SECRETS if name in os.environ]
    if held:
        raise AssertionError(f"a verification child holds {held}")
    if any(hasattr(verifier.trust, name) for name in ("pki", "keys", "services", "settings")):
        raise AssertionError("a verification child was given more than trust material")
    return verify(verifier, pdf)


def misbehave_on_markers(verifier: Verifier, pdf: bytes) -> VerificationReport:
    if pdf == HANG:  # as a parser stuck in one stage would
        time.sleep(600)
    if pdf == HOG:  # as a decompression bomb would
        hoard = bytearray(8 * 1024 * 1024 * 1024)
        hoard[-1] = 1
    if pdf == DIE:  # as a crash in a C library would
        os._exit(70)
    return verify(verifier, pdf)

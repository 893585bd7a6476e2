"""Verification: QR tokens, sealed-PDF checks, verdicts and reports."""

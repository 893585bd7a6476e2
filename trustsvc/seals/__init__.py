"""E-seals: the stamp's appearance, the CMS templates (CAdES) and the PAdES sealer.

May import: ``documents`` (fonts for the stamp), ``pki`` (keys, timestamps,
revocation data), ``db`` and the top-level helpers.
"""

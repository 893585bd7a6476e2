"""Issuing departments (颁发机构) and their e-seal certificates.

``registry``: registering departments (name, region, kind); ``seals``: issuing,
importing (PKCS#12), renewing and revoking a department's seals, and the one that
seals now; ``info``: what callers see of both; ``kinds``: the kinds of department that
license types' issuer rules name.

May import: ``seals`` (the seal material), ``documents`` (whether the stamp's font can
draw a name), ``pki``, ``audit``, ``codes``, ``db`` and the top-level helpers.
"""

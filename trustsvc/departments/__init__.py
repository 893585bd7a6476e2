"""Issuing departments (颁发机构) and their e-seal certificates: add, import, revoke and
renew a department's seal.

May import: ``seals`` (the seal material), ``documents`` (whether the stamp's font can
draw a name), ``pki``, ``audit``, ``codes``, ``db`` and the top-level helpers.
"""

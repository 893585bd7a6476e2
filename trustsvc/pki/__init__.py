"""The service's own PKI: key stores (files, PKCS#11), CA certificate profiles, the
timestamp authority, CRLs and OCSP, the operator's trust list and the trust bundle.

May import: ``codes``, ``db``, ``audit`` and the top-level helpers (``settings``,
``errors``, ``clock``, ``text``). Nothing about licenses or documents.
"""

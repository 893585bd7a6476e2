"""E-licenses and the unified library (电子证照库): license types and their catalogue,
issuing (issue, change, lifecycle), library records and queries, holders, printed
numbers, entitlement to types, printing a license's page, the one batch engine.

May import: ``departments``, ``seals``, ``tokens``, ``documents``, ``services``, ``pki``,
``audit``, ``db``, ``codes`` and the top-level helpers (two named exceptions reach
``bootstrap``: see the import-linter contract in pyproject.toml).
"""

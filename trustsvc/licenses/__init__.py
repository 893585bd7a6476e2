"""E-licenses and the unified library (电子证照库): license types and their catalogue,
issuing (``requests`` the request and view model, ``reading`` the library as the issuer
reads it, ``production`` the sealed document and record, ``issuing`` issue, change and
lifecycle), library records and queries, holders, printed numbers, entitlement to types,
printing a license's page, the one batch engine (its workers handed their opener).

May import: ``departments``, ``seals``, ``tokens``, ``documents``, ``services``, ``pki``,
``audit``, ``db``, ``codes`` and the top-level helpers; never ``bootstrap`` or above.
"""

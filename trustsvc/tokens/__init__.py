"""QR tokens, both directions, one module per job: ``format`` is what a token is (its
claims, keys, content hashes and the COSE Sig_structure); ``decoding`` reads one that an
outsider sends (the strict, bounded decoder); ``signature`` checks its signature with a
seal's public key; ``signing`` builds and signs one with a seal key (issuance and
presentation codes only: verification imports ``format``, ``decoding`` and
``signature``, never ``signing``, as an import-linter contract holds). Presentation
codes themselves are issued in ``holders.presentation`` and checked in ``verification``.

May import: ``pki`` (seal keys), ``codes`` and the top-level helpers.
"""

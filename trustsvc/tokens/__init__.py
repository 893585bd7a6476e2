"""QR tokens, both directions: ``cose`` is the format (the strict, bounded decoder, the
encoder, the signature check, content hashes, token kinds); ``signing`` signs a token
with a seal key (issuance and presentation codes only: verification imports ``cose``,
never ``signing``). Presentation codes themselves are issued in ``holders.presentation``
and checked in ``verification``.

May import: ``pki`` (seal keys), ``codes`` and the top-level helpers.
"""

"""QR tokens and presentation codes (亮证), both directions.

``cose`` is the token format (strict decoder, encoder, signature check, content
hashes, token kinds); ``signing`` signs with a seal key (issuance and
presentation only); ``presentation`` issues holders' presentation codes and
reads their check records. May import ``keys``, ``licenses``, ``departments``,
``db`` and ``errors``; never ``api``, ``cli`` or FastAPI. Verification imports
``cose`` and never ``signing``.
"""

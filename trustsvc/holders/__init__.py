"""Holders (持证人) signed in on the service's pages: their sessions on the server, and
what a holder may do (see and download their own licenses, make presentation codes,
read their access record).

May import: ``sharing``, ``licenses``, ``tokens``, ``services``, ``pki`` (the data key),
``audit``, ``codes``, ``db`` and the top-level helpers. Each function is handed what it
uses (the database, the clock, the data key, the services, the license reader); the web
routes in ``api`` import it.
"""

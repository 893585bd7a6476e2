"""Holders (持证人) signed in on the service's pages: their sessions on the server, and
what a holder may do (see and download their own licenses, make presentation codes,
read their access record).

May import: ``sharing``, ``licenses``, ``tokens``, ``audit``, ``codes``, ``db`` and the
top-level helpers. The web routes in ``api`` import it.
"""

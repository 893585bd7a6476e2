"""trustsvc: electronic-license and e-seal trust service.

The package is layered: ``licenses``, ``seals``, ``keys``, ``verification``
and ``ledger`` hold the domain; ``db`` the persistence; ``api`` and ``cli``
are the edges. The domain never imports the edges.
"""

__version__ = "0.1.0"

"""Staff of the service's pages (工作人员): clerks, officers, department and operator
administrators and auditors, with their roles and departments kept in the service's own
records (the identity provider only says who someone is).

May import: ``sharing`` (a staff user acts through an API client of its role),
``verification`` and ``licenses`` (the clerk's desk), ``departments``, ``audit``, ``db``,
``codes`` and the top-level helpers. The page routes in
``api`` import it.
"""

"""The service's pages for people: one module of routes per area (home and public pages,
the clerk's desk, the citizen's wallet, the department console, statistics,
administration), rendered on the server from the Jinja2 templates in
``api/templates`` with the stylesheet and scripts in ``api/static``.

Every action a page offers calls the same domain function, authorisation and
record as the API route it stands for; a page has no power of its own.
"""

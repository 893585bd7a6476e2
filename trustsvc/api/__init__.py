"""The HTTP edge: the FastAPI app, its server settings, dependencies, input checks before
routing, browser security headers, rate limits, observability, and the routes.

``errors`` is the only place domain errors become HTTP statuses (problem+json).
May import anything below ``bootstrap``, and ``bootstrap`` itself; only the CLI's
``serve`` imports it. The only package that imports FastAPI or Starlette.
"""

"""The ``licenses`` fixture lives in tests/conftest.py; re-exported for modules that import it."""

from tests.conftest import licenses

__all__ = ["licenses"]

"""Append-only records of what was done (全程留痕、可追溯): the access record of every
use of a holder's data, and the operator record of changes to trust configuration.

May import: ``db`` and the top-level helpers only; every other package writes here.
"""

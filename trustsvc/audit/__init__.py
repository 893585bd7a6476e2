"""Append-only records of what was done (全程留痕、可追溯), bound to a transparency log.

``events``: the one event model (lifecycle events, void numbers, operator and seal
actions, the access record, presentation checks, hooks); ``recording``: each event's
row and log entry written in one transaction; ``access_record``: the access record's
writer; ``access_reading`` and ``operators``: reading those records; ``log``: the
log's storage, integration and publication; ``proofs``: a license's C2SP tlog-proof;
``ledger``: the library held to the log (``ledger verify``); ``adoption``: rows from
before the log, adopted by migration 0020.

May import: ``tlog``, ``db`` and the top-level helpers only; every other package writes here.
"""

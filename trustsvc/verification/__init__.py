"""Verification: sealed PDFs and QR tokens checked against trust material alone, then
against the library through one lookup; findings, one verdict, the printed and sealed
report; uploads verified in key-less child processes.

May import: ``licenses`` (library rules, types), ``departments``, ``seals``, ``tokens``,
``documents``, ``services``, ``pki``, ``audit``, ``db``, ``codes`` and the top-level
helpers. It returns findings; recording a check is its caller's (``recording``).
"""

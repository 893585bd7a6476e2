"""Sharing the library's data (数据共享): API clients and their keys, the purpose
catalogue (用证事由), cross-department lookups and the refusal budget.

May import: ``licenses``, ``tokens``, ``audit``, ``pki``, ``codes``, ``db`` and the
top-level helpers. Not ``api`` or ``cli``: the HTTP and command-line edges import it.
"""

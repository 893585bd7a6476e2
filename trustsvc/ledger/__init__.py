"""Append-only records of what was done with the library's data (全程留痕、可追溯)."""

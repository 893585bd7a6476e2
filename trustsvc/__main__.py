"""``python -m trustsvc``: the command line, as the ``trustsvc`` console script runs it."""

from trustsvc.cli import main

main()

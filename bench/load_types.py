"""Time loading the license type catalogue at start-up, in CPU time (this process's).

Prints, in milliseconds: importing ``trustsvc.licenses.types``, the first
``load_types()``, each later one, and the three together with the import (a
service asks for the catalogue more than once: the service, the entitlement
snapshot, the printout). pydantic and the settings are imported first, as
every entry point does before it reads a type. Run it in fresh processes,
alternating with the tree to compare against (bytecode cached, as an
installed package has it)::

    for i in $(seq 20); do for tree in ../before .; do
        PYTHONPATH=$tree PYTHONPYCACHEPREFIX=/tmp/pyc .venv/bin/python bench/load_types.py
    done; done
"""

from __future__ import annotations

import importlib
import time


def main() -> None:
    # Every entry point has imported these before it reads a type.
    importlib.import_module("pydantic")
    importlib.import_module("trustsvc.settings")
    started = time.process_time()
    types = importlib.import_module("trustsvc.licenses.types")
    imported = time.process_time()
    types.load_types()
    first = time.process_time()
    types.load_types()
    types.load_types()
    later = time.process_time()
    print(
        f"import {(imported - started) * 1000:.2f} ms, "
        f"first load {(first - imported) * 1000:.2f} ms, "
        f"each later load {(later - first) * 500:.3f} ms, "
        f"import and three loads {(later - started) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()

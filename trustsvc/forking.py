"""Child processes forked from multiprocessing's fork server, with what they need imported.

A ``spawn`` child starts a new interpreter and imports everything it needs: about
1.5 s of CPU before it can do anything. A ``fork`` of a serving process copies
its threads' locks in whatever state they were (a child can hang on one) and
every secret the parent holds. The fork server is neither: a new interpreter,
started once per process on first use, that imports the modules named here and
then forks a child for each request. Its children start in milliseconds, inherit
no thread and no key of the parent (the server never held one), and a child
replaced after being killed costs almost nothing, so killing is cheap.

Modules are named before the server starts; the union of every caller's names
is what it imports. Once it runs, later names change nothing (a child then
imports what it lacks itself, as a spawned one would).
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.context import ForkServerContext

_lock = threading.Lock()
_preloaded: set[str] = set()


def forkserver_context(*modules: str) -> ForkServerContext:
    """The fork server's context, with ``modules`` among those its server imports."""
    context = multiprocessing.get_context("forkserver")
    with _lock:
        _preloaded.update(modules)
        context.set_forkserver_preload(sorted(_preloaded))
    return context

"""The transparency log's storage and publication inside the service (issue 14).

Sequencing apart from integration, as Tessera does: ``append`` gives an entry
its index in the caller's own transaction (``sequence``); a background
integrator folds sequenced entries into the Merkle tree's stored hashes in
batches (``integration``); checkpoints are signed, cosigned by witnesses and
published by compare-and-swap (``publication``); the tree is read back as
C2SP tlog-tiles and proofs (``reading``).

May import: ``tlog``, ``db`` and the top-level helpers only.
"""

from trustsvc.audit.log.sequence import MAX_ENTRY_SIZE, append, append_many

__all__ = ["MAX_ENTRY_SIZE", "append", "append_many"]
